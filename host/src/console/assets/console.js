// Switchboard console: progressive enhancement of server-rendered pages. Every page works
// without this script; with it, times show in the browser's zone, the inbox and an open
// conversation update live from the API's event stream, and the keyboard drives the inbox.
"use strict";

(function () {
  const announcer = () => document.getElementById("live-status");

  function announce(text) {
    const region = announcer();
    if (!region) return;
    region.textContent = "";
    // A change of text after a tick is what screen readers announce.
    setTimeout(() => { region.textContent = text; }, 50);
  }

  // ---- Times --------------------------------------------------------------------------
  const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function span(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) {
      const m = Math.floor((s % 3600) / 60);
      return Math.floor(s / 3600) + " h" + (m ? " " + m + " min" : "");
    }
    const h = Math.floor((s % 86400) / 3600);
    return Math.floor(s / 86400) + " d" + (h ? " " + h + " h" : "");
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach((el) => {
      const at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      if (el.hasAttribute("data-relative")) {
        el.textContent = span(Date.now() - at.getTime()) + " ago";
        el.title = absolute.format(at);
      } else {
        el.textContent = absolute.format(at);
      }
    });
  }

  // ---- Fetching fragments ---------------------------------------------------------------
  async function fragment(url) {
    const response = await fetch(url, { headers: { "x-console-fetch": "1" }, credentials: "same-origin" });
    if (response.status === 401) {
      showProblem("Your session ended. Reload the page to log in again.");
      return null;
    }
    if (!response.ok) {
      showProblem("Could not refresh (" + response.status + "): " + (await response.text()).slice(0, 200));
      return null;
    }
    return response.text();
  }

  function showProblem(text) {
    let box = document.getElementById("live-problem");
    if (!box) {
      box = document.createElement("p");
      box.id = "live-problem";
      box.className = "notice failed";
      box.setAttribute("role", "alert");
      const main = document.getElementById("main");
      if (main) main.prepend(box);
    }
    box.textContent = text;
  }

  function replace(element, html) {
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const fresh = holder.firstElementChild;
    if (!fresh) return null;
    element.replaceWith(fresh);
    localTimes(fresh);
    wire(fresh);
    return fresh;
  }

  // ---- The inbox ------------------------------------------------------------------------
  let selectedId = null;

  function rows() {
    return Array.from(document.querySelectorAll("li.row"));
  }

  function select(row, focus) {
    rows().forEach((r) => r.classList.remove("selected"));
    if (!row) return;
    row.classList.add("selected");
    selectedId = row.dataset.id;
    if (focus) {
      const link = row.querySelector("a.open");
      if (link) link.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  let postponed = null;

  async function refreshInbox(reason) {
    const block = document.getElementById("inbox-block");
    if (!block) return;
    // Someone choosing a filter keeps their choice: the refresh waits until they leave it.
    const filters = block.querySelector("form.filters");
    if (filters && filters.contains(document.activeElement)) {
      if (postponed === null) {
        filters.addEventListener("focusout", () => {
          setTimeout(() => {
            if (!filters.contains(document.activeElement) && postponed !== null) {
              const why = postponed;
              postponed = null;
              refreshInbox(why);
            }
          }, 0);
        });
      }
      postponed = reason || "";
      return;
    }
    const before = new Set(rows().map((r) => r.dataset.id));
    const html = await fragment(block.dataset.live);
    if (html === null) return;
    const focusedInside = block.contains(document.activeElement);
    const fresh = replace(block, html);
    if (!fresh) return;
    let added = 0;
    rows().forEach((r) => {
      if (!before.has(r.dataset.id)) {
        r.classList.add("fresh");
        added += 1;
      }
    });
    const keep = rows().find((r) => r.dataset.id === selectedId);
    select(keep || null, focusedInside && !!keep);
    if (reason) announce(reason + (added ? " " + added + " new in this view." : ""));
  }

  async function quick(form) {
    const body = new URLSearchParams(new FormData(form));
    const response = await fetch(form.action, {
      method: "POST",
      body,
      headers: { "x-console-fetch": "1" },
      credentials: "same-origin",
    });
    const text = await response.text();
    if (!response.ok) {
      showProblem(text || "That did not work (" + response.status + ").");
      return;
    }
    announce(text);
    await refreshInbox(null);
  }

  // ---- A conversation -------------------------------------------------------------------
  async function refreshThread(kind) {
    const holder = document.getElementById("thread-live");
    if (!holder) return;
    const html = await fragment(holder.dataset.live);
    if (html === null) return;
    const thread = document.getElementById("thread");
    if (thread) replace(thread, html);
    if (kind === "message") announce("A new message arrived in this conversation.");
  }

  // ---- The event stream ------------------------------------------------------------------
  function listen() {
    const inbox = document.getElementById("inbox-block");
    const conversation = document.getElementById("thread-live");
    if ((!inbox && !conversation) || !window.EventSource) return;
    const source = new EventSource("/api/stream", { withCredentials: true });
    let timer = null;
    let pending = null;
    const later = (fn) => {
      clearTimeout(timer);
      timer = setTimeout(fn, 350);
    };
    source.addEventListener("conversation", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (_) { return; }
      if (document.getElementById("inbox-block")) {
        pending = event.kind === "message" ? "New message in the inbox." : "The inbox changed.";
        later(() => refreshInbox(pending));
      }
      const holder = document.getElementById("thread-live");
      if (holder && String(event.conversation_id) === holder.dataset.conversation) {
        later(() => refreshThread(event.kind));
      }
    });
    source.addEventListener("lagged", () => {
      if (document.getElementById("inbox-block")) refreshInbox("The inbox changed.");
      if (document.getElementById("thread-live")) refreshThread(null);
    });
    source.addEventListener("open", () => {
      const box = document.getElementById("live-problem");
      if (box) box.remove();
      document.body.dataset.live = "connected";
    });
  }

  // ---- Keyboard ---------------------------------------------------------------------------
  let lastKey = null;

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=true]");
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    const list = rows();
    const current = list.findIndex((r) => r.classList.contains("selected"));
    if (key === "?") {
      const dialog = document.getElementById("shortcuts");
      if (dialog && dialog.showModal) dialog.showModal();
      event.preventDefault();
    } else if (key === "/") {
      const search = document.getElementById("global-search");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (lastKey === "g" && key === "i") {
      window.location.href = "/inbox";
    } else if (list.length && (key === "j" || key === "k")) {
      const next = key === "j" ? Math.min(list.length - 1, current + 1) : Math.max(0, current - 1);
      select(list[next], true);
      event.preventDefault();
    } else if (list.length && key === "Enter" && current >= 0 && !event.target.closest("a, button")) {
      window.location.href = list[current].dataset.href;
    } else if (key === "e") {
      if (list.length && current >= 0) {
        const form = list[current].querySelector("form[data-quick]");
        if (form) { quick(form); event.preventDefault(); }
      } else {
        const resolve = document.querySelector("button[data-key=e]");
        if (resolve) { resolve.click(); event.preventDefault(); }
      }
    } else if (key === "r") {
      const reply = document.getElementById("reply-text");
      if (reply) { reply.focus(); event.preventDefault(); }
    }
    lastKey = key;
  }

  // ---- Forms ------------------------------------------------------------------------------
  function wire(root) {
    root.querySelectorAll("form[data-confirm]").forEach((form) => {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    root.querySelectorAll("form[data-quick]").forEach((form) => {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        quick(form);
      });
    });
    root.querySelectorAll("li.row").forEach((row) => {
      row.addEventListener("focusin", () => select(row, false));
    });
  }

  function wireReply() {
    const offset = document.querySelector("input[data-tz-offset]");
    if (offset) offset.value = String(new Date().getTimezoneOffset());
    const until = document.getElementById("snooze-until");
    const snooze = document.getElementById("snooze");
    if (until && snooze) until.addEventListener("change", () => { snooze.value = "until"; });

    const canned = document.getElementById("canned");
    const text = document.getElementById("reply-text");
    if (canned && text) {
      canned.addEventListener("change", async () => {
        if (!canned.value) return;
        const url = "/api/canned-replies/" + encodeURIComponent(canned.value) +
          "/render?conversation=" + encodeURIComponent(canned.dataset.conversation);
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) {
          showProblem("The canned reply could not be filled in (" + response.status + ").");
          return;
        }
        const rendered = (await response.json()).text || "";
        text.value = text.value.trim() ? rendered + "\n\n" + text.value : rendered;
        canned.value = "";
        text.focus();
        announce("Canned reply inserted; edit it before sending.");
      });
    }

    const channel = document.getElementById("reply-channel");
    const goesOut = document.getElementById("reply-goes-out");
    if (channel && goesOut) {
      const initial = goesOut.innerHTML;
      channel.addEventListener("change", () => {
        if (!channel.value) { goesOut.innerHTML = initial; return; }
        const option = channel.options[channel.selectedIndex];
        const consent = document.querySelector('ul.consents li[data-connector="' + CSS.escape(channel.value) + '"]');
        goesOut.textContent = "This reply goes out on " + option.textContent.split(" — ")[0].trim() + "." +
          (consent ? " " + consent.textContent.trim() : "");
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    wire(document);
    wireReply();
    listen();
    document.addEventListener("keydown", onKey);
    setInterval(() => {
      document.querySelectorAll("time[data-relative]").forEach((el) => {
        const at = new Date(el.getAttribute("datetime"));
        if (!isNaN(at)) el.textContent = span(Date.now() - at.getTime()) + " ago";
      });
    }, 30000);
  });
})();
