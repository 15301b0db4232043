//! The host's check of every event a connector reports, before anything is stored: values the
//! store could never take (a NUL byte PostgreSQL refuses), or that would break reads for good
//! (a total of `i64::MAX` that overflows every sum), or that no provider sends (a time before
//! 1970 or years ahead, a 10 MiB name) are refused with the field that is wrong, and the
//! request becomes a dead letter instead of being retried for days.

use serde_json::Value;

use crate::model::Event;
use crate::store::StoreError;

/// Longest message text or body (bytes).
pub const MAX_TEXT: usize = 1 << 20;
/// Longest attribute value (a cart's items as JSON) and attachment URL (bytes).
pub const MAX_VALUE: usize = 64 << 10;
/// Longest other string: names, ids, addresses, statuses (bytes).
pub const MAX_STRING: usize = 4096;
/// Most items of one list (identifiers, lines, attributes, attachments).
pub const MAX_ITEMS: usize = 1000;
/// Largest amount, in minor units either way: ten trillion euros is no order.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;
/// Most units of one order line.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// Earliest time an event may carry: the epoch (tests and replays of old data use early
/// times; what is refused is the negative and the absurd).
pub const EARLIEST: i64 = 0;
/// How far ahead of now an event's time may be (clock skew, scheduled deliveries): a year.
pub const AHEAD_MS: i64 = 366 * 24 * 3600 * 1000;

/// Checks one event; the reason names the field (`lines[2].quantity`).
pub(crate) fn event(event: &Event, now: i64) -> Result<(), StoreError> {
    let value = serde_json::to_value(event)
        .map_err(|e| invalid(event, format!("not serializable: {e}")))?;
    let mut path = Vec::new();
    walk(&value, &mut path, now).map_err(|reason| invalid(event, reason))
}

fn invalid(event: &Event, reason: String) -> StoreError {
    StoreError::InvalidEvent {
        provider_id: event.provider_id().chars().take(200).collect(),
        reason,
    }
}

fn walk(value: &Value, path: &mut Vec<String>, now: i64) -> Result<(), String> {
    let key = path.last().map(String::as_str).unwrap_or("");
    let field = || path.join(".").replace(".[", "[");
    match value {
        Value::String(text) => {
            let limit = match key {
                "text" | "body" | "html" => MAX_TEXT,
                "value" | "url" | "attributes" => MAX_VALUE,
                _ => MAX_STRING,
            };
            if text.len() > limit {
                return Err(format!(
                    "`{}` is {} bytes, more than the {limit} allowed",
                    field(),
                    text.len()
                ));
            }
            if let Some(c) =
                text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(format!(
                    "`{}` holds the control character U+{:04X}",
                    field(),
                    u32::from(c)
                ));
            }
        }
        Value::Number(number) => {
            let Some(n) = number.as_i64() else {
                if number.as_u64().is_some() {
                    return Err(format!("`{}` is out of range", field()));
                }
                return Ok(());
            };
            if key.ends_with("_at") && !(EARLIEST..=now + AHEAD_MS).contains(&n) {
                return Err(format!(
                    "`{}` = {n} ms is not a time between 1970 and a year from now",
                    field()
                ));
            }
            if key.ends_with("_minor") && !(-MAX_MINOR..=MAX_MINOR).contains(&n) {
                return Err(format!("`{}` = {n} is beyond ±{MAX_MINOR} minor units", field()));
            }
            if key == "quantity" && !(0..=MAX_QUANTITY).contains(&n) {
                return Err(format!("`{}` = {n} is beyond {MAX_QUANTITY} units", field()));
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(format!(
                    "`{}` has {} items, more than {MAX_ITEMS}",
                    field(),
                    items.len()
                ));
            }
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk(item, path, now)?;
                path.pop();
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                path.push(name.clone());
                walk(item, path, now)?;
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    const NOW: i64 = 1_796_000_000_000;

    fn message(text: &str, at: i64) -> Event {
        Event::Interaction(Interaction {
            provider_id: "m1".into(),
            kind: InteractionKind::Message,
            direction: Direction::Inbound,
            contact: Contact {
                identifiers: vec![Identifier::email("ann@example.com").declared()],
                display_name: Some("Ann".into()),
                given_name: None,
                family_name: None,
                locale: None,
                attributes: vec![],
            },
            channel: "email".into(),
            thread_id: None,
            subject: None,
            text: Some(text.into()),
            occurred_at: at,
            status: None,
            attachments: vec![],
            attributes: vec![],
        })
    }

    fn reason(result: Result<(), StoreError>) -> String {
        match result {
            Err(StoreError::InvalidEvent { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ordinary_events_pass() {
        event(&message("Bonjour,\r\n\tmerci", NOW - 1000), NOW).unwrap();
    }

    #[test]
    fn nul_bytes_and_control_characters_are_refused_with_their_field() {
        assert!(
            reason(event(&message("a\0b", NOW), NOW))
                .contains("`text` holds the control character U+0000")
        );
        let mut bad = message("ok", NOW);
        if let Event::Interaction(i) = &mut bad {
            i.contact.identifiers[0] = Identifier::email("ann\u{1b}@example.com").declared();
        }
        let why = reason(event(&bad, NOW));
        assert!(why.contains("contact.identifiers[0].value"), "{why}");
    }

    #[test]
    fn times_outside_2000_to_a_year_ahead_are_refused() {
        assert!(reason(event(&message("x", i64::MIN), NOW)).contains("`occurred_at`"));
        assert!(reason(event(&message("x", NOW + 2 * AHEAD_MS), NOW)).contains("`occurred_at`"));
        event(&message("x", EARLIEST), NOW).unwrap();
    }

    #[test]
    fn huge_texts_are_refused() {
        let why = reason(event(&message(&"x".repeat(MAX_TEXT + 1), NOW), NOW));
        assert!(why.contains("`text` is 1048577 bytes"), "{why}");
    }
}
