//! Native unit tests of a connector (feature `testing`): a mock host with config, key-value
//! state, a clock, logging and outbound HTTP answered from recorded responses, and the provider
//! requests of `.http` fixtures, so that `cargo test` runs a connector's logic on the
//! developer's machine — signature windows, pagination, sending — without the Switchboard host.
//!
//! ```ignore
//! use switchboard_sdk::testing::{MockHost, recorded};
//!
//! #[test]
//! fn a_signed_message_becomes_an_interaction() {
//!     let host = MockHost::new()
//!         .config("secret", "fixture-secret")
//!         .now(1_795_600_800_000)
//!         .respond("POST", "https://api.example.com/", 200, r#"{"id": "m-1"}"#)
//!         .install();
//!     let request = recorded(include_str!("../fixtures/message.http"));
//!     let outcome = MyConnector::handle_webhook(request).unwrap();
//!     assert_eq!(outcome.events.len(), 1);
//!     assert!(host.requests().is_empty());
//! }
//! ```
//!
//! The mock belongs to the test's thread (each test runs on its own) and is removed when the
//! value [`MockHost::install`] returns is dropped. Unlike the real host, key-value writes are
//! kept at once, whether or not the call then fails.

use crate::http::Response;
use crate::native::{Rule, STATE, State};
use crate::{Header, HttpRequest, Timestamp};

pub use crate::native::{LogLevel, SentRequest};

/// A mock host being set up; [`install`](MockHost::install) makes it the one the connector's
/// host calls reach.
#[derive(Debug, Default)]
#[must_use = "a mock host does nothing until it is installed"]
pub struct MockHost {
    state: State,
}

impl MockHost {
    /// An empty host: no config, no state, the system clock, no outbound answers.
    pub fn new() -> Self {
        MockHost::default()
    }

    /// A value of the connector's config table.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.state.config.insert(key.into(), value.into());
        self
    }

    /// A value already in the connector's key-value state.
    pub fn kv(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        self.state.kv.insert(key.into(), value.as_ref().to_vec());
        self
    }

    /// The wall clock the connector reads (ms since the Unix epoch), as the host sets it to
    /// the time a request was received.
    pub fn now(mut self, millis: Timestamp) -> Self {
        self.state.now = Some(millis);
        self
    }

    /// Answers every request of `method` (`"*"`: any) to a URL starting with `url_prefix` with
    /// `status` and `body`. Rules are tried in the order given.
    pub fn respond(self, method: &str, url_prefix: &str, status: u16, body: &str) -> Self {
        let response = Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        };
        self.rule(method, url_prefix, response, None)
    }

    /// Answers the next request of `method` to a URL starting with `url_prefix` with
    /// `response`, once (a page of a paginated API, say).
    pub fn respond_once(self, method: &str, url_prefix: &str, response: Response) -> Self {
        self.rule(method, url_prefix, response, Some(1))
    }

    /// Answers with a recorded response (`.http` format, see [`recorded_response`]): once if it
    /// names the request it answers, for that method and URL prefix; else any request, always.
    pub fn respond_recorded(self, text: &str) -> Self {
        let (method, url, response) = recorded_response(text);
        match url {
            Some(url) => self.rule(&method.unwrap_or_else(|| "*".into()), &url, response, Some(1)),
            None => self.rule("*", "", response, None),
        }
    }

    fn rule(
        mut self,
        method: &str,
        url_prefix: &str,
        response: Response,
        remaining: Option<usize>,
    ) -> Self {
        self.state.rules.push(Rule {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            url_prefix: url_prefix.into(),
            response,
            remaining,
        });
        self
    }

    /// Makes this the host of the current test; removed when the returned value is dropped.
    pub fn install(self) -> Installed {
        STATE.with(|state| *state.borrow_mut() = Some(self.state));
        Installed { _not_send: std::marker::PhantomData }
    }
}

/// The installed mock host: what the connector did to it.
#[derive(Debug)]
pub struct Installed {
    // The mock is the test thread's: the handle stays on it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Installed {
    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        STATE.with(|state| f(state.borrow().as_ref().expect("the mock host is installed")))
    }

    /// The outbound requests the connector made, in order.
    pub fn requests(&self) -> Vec<SentRequest> {
        self.read(|s| s.requests.clone())
    }

    /// A value of the connector's key-value state now.
    pub fn kv(&self, key: &str) -> Option<Vec<u8>> {
        self.read(|s| s.kv.get(key).cloned())
    }

    /// What the connector logged, in order.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.read(|s| s.logs.clone())
    }

    /// Moves the clock (a later redelivery, an expired signature window).
    pub fn set_now(&self, millis: Timestamp) {
        STATE.with(|state| {
            if let Some(state) = state.borrow_mut().as_mut() {
                state.now = Some(millis);
            }
        });
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        STATE.with(|state| *state.borrow_mut() = None);
    }
}

/// A provider request from a recorded `.http` file (as `switchboard plugin test` reads it): a
/// request line (`POST /hooks/hello HTTP/1.1`, or an absolute URL), headers, a blank line and
/// the body. The public URL is `https://{Host}{target}` for a path target; the route is the
/// path below `/hooks/{connector}`. Received now (or at the mock clock).
///
/// Panics on a malformed file: it is the test's own fixture.
pub fn recorded(text: &str) -> HttpRequest {
    let (head, body) = split_head(text);
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or("").trim();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        panic!(
            "the recorded request starts with `{request_line}`; expected `METHOD TARGET HTTP/1.1`"
        );
    };
    let headers: Vec<Header> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("`{line}` is not a header; expected `Name: value`"));
            Header { name: name.trim().into(), value: value.trim().into() }
        })
        .collect();
    let url = if target.starts_with('/') {
        let host = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"))
            .map(|h| h.value.clone())
            .expect("a path target needs a Host header to make the public URL");
        format!("https://{host}{target}")
    } else {
        target.to_string()
    };
    // As the host mounts a connector at `/hooks/{id}`: the route is the path below it.
    let after_host =
        url.split("://").nth(1).and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("/");
    let path = after_host.split(['?', '#']).next().unwrap_or("/");
    let route = match path.strip_prefix("/hooks/") {
        Some(rest) => match rest.find('/') {
            Some(i) if rest.len() > i + 1 => rest[i..].to_string(),
            _ => "/".to_string(),
        },
        None => path.to_string(),
    };
    HttpRequest {
        method: method.to_ascii_uppercase(),
        url,
        route,
        headers,
        body: body.as_bytes().to_vec(),
        received_at: crate::time::now_millis(),
    }
}

/// A recorded response: an optional line naming the request it answers (`GET
/// https://api.example.com/v1/items`), the status line (`HTTP/1.1 200 OK`), headers, a blank
/// line and the body. Answers (method, URL, response).
///
/// Panics on a malformed file: it is the test's own fixture.
pub fn recorded_response(text: &str) -> (Option<String>, Option<String>, Response) {
    let (head, body) = split_head(text);
    let mut lines = head.lines().filter(|l| !l.trim().is_empty()).peekable();
    let mut answers = (None, None);
    if let Some(first) = lines.peek()
        && !first.trim_start().starts_with("HTTP/")
    {
        let mut parts = first.split_whitespace();
        answers = (parts.next().map(str::to_ascii_uppercase), parts.next().map(str::to_string));
        lines.next();
    }
    let status_line = lines.next().unwrap_or("");
    let status =
        status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            panic!("`{status_line}` is not a status line such as `HTTP/1.1 200 OK`")
        });
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("`{line}` is not a header; expected `Name: value`"));
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    (answers.0, answers.1, Response { status, headers, body: body.as_bytes().to_vec() })
}

/// The head and body of an HTTP message as written in a file: the body is what follows the
/// first blank line, less one trailing newline (editors add one).
fn split_head(text: &str) -> (&str, &str) {
    let (head, body) = match (text.find("\r\n\r\n"), text.find("\n\n")) {
        (Some(crlf), Some(lf)) if lf < crlf => (&text[..lf], &text[lf + 2..]),
        (Some(crlf), _) => (&text[..crlf], &text[crlf + 4..]),
        (None, Some(lf)) => (&text[..lf], &text[lf + 2..]),
        (None, None) => (text, ""),
    };
    let body = body.strip_suffix("\r\n").or_else(|| body.strip_suffix('\n')).unwrap_or(body);
    (head, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_requests_read_like_the_hosts() {
        let request = recorded(
            "POST /hooks/viber/events?sig=1 HTTP/1.1\nHost: crm.example.com\nX-Sig: abc\n\n{\"a\":1}\n",
        );
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://crm.example.com/hooks/viber/events?sig=1");
        assert_eq!(request.route, "/events");
        assert_eq!(request.header("x-sig"), Some("abc"));
        assert_eq!(request.body, b"{\"a\":1}");
        assert_eq!(recorded("GET https://x.example/hooks/viber HTTP/1.1\n\n").route, "/");
    }

    #[test]
    fn the_mock_host_answers_what_it_was_told_and_records_the_rest() {
        let host = MockHost::new()
            .config("token", "t-1")
            .kv("cursor", "c-1")
            .now(1_000_000)
            .respond_recorded(
                "GET https://api.example.com/page/2\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n[2]\n",
            )
            .respond("GET", "https://api.example.com/", 200, "[1]")
            .install();
        assert_eq!(crate::host::config("token").as_deref(), Some("t-1"));
        assert_eq!(crate::host::kv::get_string("cursor").unwrap().as_deref(), Some("c-1"));
        crate::host::kv::set("cursor", "c-2").unwrap();
        assert_eq!(host.kv("cursor"), Some(b"c-2".to_vec()));
        assert_eq!(crate::time::now_millis(), 1_000_000);
        host.set_now(2_000_000);
        assert_eq!(crate::time::now_millis(), 2_000_000);
        let second = crate::http::get("https://api.example.com/page/2").send().unwrap();
        assert_eq!(second.body, b"[2]");
        // Answered once: the next request to it gets the general rule.
        let again = crate::http::get("https://api.example.com/page/2").send().unwrap();
        assert_eq!(again.body, b"[1]");
        let refused = crate::http::post("https://elsewhere.example/").send().unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("no recorded response for POST https://elsewhere.example/")
        );
        let sent = host.requests();
        assert_eq!(sent.len(), 3);
        assert_eq!(
            (sent[2].method.as_str(), sent[2].url.as_str()),
            ("POST", "https://elsewhere.example/")
        );
        crate::host::log(LogLevel::Info, "polled");
        assert_eq!(host.logs().len(), 1);
        drop(host);
        assert!(std::panic::catch_unwind(|| crate::host::config("token")).is_err(), "uninstalled");
    }
}
