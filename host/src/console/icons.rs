//! The console's icons: one inline SVG sprite per page (no request, no font), drawn here as
//! simple strokes; each channel has one, and every use carries its name in words for screen
//! readers.

use maud::{Markup, PreEscaped, html};

use super::format;

/// (symbol id, SVG drawing in a 24×24 box).
const SYMBOLS: &[(&str, &str)] = &[
    ("email", r#"<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>"#),
    ("sms", r#"<path d="M4 5h16v11H10l-5 4v-4H4z"/><path d="M8 10h8"/>"#),
    (
        "voice",
        r#"<path d="M6 3h3l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v3a2 2 0 0 1-2 2A17 17 0 0 1 4 5a2 2 0 0 1 2-2z"/>"#,
    ),
    ("telegram", r#"<path d="M21 4L3 11l6 2 2 6 3.5-4 4.5 4z"/><path d="M9 13l8-6"/>"#),
    (
        "whatsapp",
        r#"<path d="M4 20l1.4-4.2A8 8 0 1 1 8.4 18.7z"/><path d="M9 9.5c.5 2.5 2.5 4.5 5 5l1-1.5"/>"#,
    ),
    (
        "web",
        r#"<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>"#,
    ),
    (
        "web-chat",
        r#"<path d="M4 5h16v11H10l-5 4v-4H4z"/><path d="M8.5 10.5h.01M12 10.5h.01M15.5 10.5h.01"/>"#,
    ),
    ("shop", r#"<path d="M5 8h14l-1 12H6z"/><path d="M9 8V6a3 3 0 0 1 6 0v2"/>"#),
    ("store", r#"<path d="M3 9l2-5h14l2 5z"/><path d="M5 9v11h14V9M10 20v-6h4v6"/>"#),
    (
        "marketplace",
        r#"<path d="M3 4h2l2.2 11h11l2-8H6"/><circle cx="9" cy="19" r="1.5"/><circle cx="17" cy="19" r="1.5"/>"#,
    ),
    (
        "maps",
        r#"<path d="M12 21s-7-6-7-11a7 7 0 0 1 14 0c0 5-7 11-7 11z"/><circle cx="12" cy="10" r="2.5"/>"#,
    ),
    ("payments", r#"<rect x="3" y="6" width="18" height="13" rx="2"/><path d="M3 10h18M7 15h4"/>"#),
    (
        "shipping",
        r#"<path d="M3 6h11v10H3zM14 9h4l3 3v4h-7"/><circle cx="7" cy="18" r="1.6"/><circle cx="17" cy="18" r="1.6"/>"#,
    ),
    ("channel", r#"<circle cx="12" cy="12" r="8"/><path d="M12 8v8M8 12h8"/>"#),
    ("search", r#"<circle cx="11" cy="11" r="6.5"/><path d="M16 16l5 5"/>"#),
    ("inbound", r#"<path d="M19 5L6 18M6 9v9h9"/>"#),
    ("outbound", r#"<path d="M5 19L18 6M9 6h9v9"/>"#),
    ("note", r#"<path d="M5 4h10l4 4v12H5z"/><path d="M15 4v4h4M8 12h8M8 16h5"/>"#),
    (
        "attachment",
        r#"<path d="M20 11l-8 8a5 5 0 0 1-7-7l8-8a3.5 3.5 0 0 1 5 5l-8 8a2 2 0 0 1-3-3l7-7"/>"#,
    ),
];

/// The sprite every page carries once.
pub(crate) fn sprite() -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="sprite" aria-hidden="true" focusable="false" {
            @for (id, drawing) in SYMBOLS {
                symbol id=(format!("i-{id}")) viewBox="0 0 24 24" fill="none" stroke="currentColor"
                    stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" {
                    (PreEscaped(*drawing))
                }
            }
        }
    }
}

/// A decorative icon (its meaning is said in words next to it).
pub(crate) fn glyph(name: &str) -> Markup {
    let id = if SYMBOLS.iter().any(|(id, _)| *id == name) { name } else { "channel" };
    html! {
        svg class="icon" aria-hidden="true" focusable="false" { use href=(format!("#i-{id}")) {} }
    }
}

/// A channel's icon with its name for screen readers and as a tooltip.
pub(crate) fn channel(name: &str) -> Markup {
    let label = format::channel(name);
    html! {
        span class=(format!("channel ch-{}", css_name(name))) title=(label) {
            (glyph(name))
            span class="visually-hidden" { (label) }
        }
    }
}

/// A channel's icon and its name written out.
pub(crate) fn channel_named(name: &str) -> Markup {
    html! {
        span class=(format!("channel named ch-{}", css_name(name))) {
            (glyph(name)) (format::channel(name))
        }
    }
}

fn css_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}
