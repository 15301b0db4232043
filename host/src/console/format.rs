//! How the console writes times, durations, money and channel names for people.

use maud::{Markup, html};

/// A moment: the UTC time as text, machine-readable in `datetime` (the script shows it in the
/// browser's own time zone).
pub(crate) fn time(ms: i64) -> Markup {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(at) => html! {
            time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
                (at.format("%-d %b %Y, %H:%M UTC"))
            }
        },
        None => html! { "—" },
    }
}

/// A moment as "5 min ago", with the full time for the script and screen readers.
pub(crate) fn ago(ms: i64, now: i64) -> Markup {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(at) => html! {
            time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                title=(at.format("%-d %b %Y, %H:%M UTC")) data-relative {
                (span(now - ms)) " ago"
            }
        },
        None => html! { "—" },
    }
}

/// A span of time, shortest first unit that fits: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub(crate) fn span(ms: i64) -> String {
    let seconds = (ms.max(0) / 1000) as u64;
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min", seconds / 60),
        3600..=86_399 => match (seconds % 3600) / 60 {
            0 => format!("{} h", seconds / 3600),
            minutes => format!("{} h {minutes} min", seconds / 3600),
        },
        _ => match (seconds % 86_400) / 3600 {
            0 => format!("{} d", seconds / 86_400),
            hours => format!("{} d {hours} h", seconds / 86_400),
        },
    }
}

/// An amount in minor units as people write it: `€12.50`, `¥1200`, `12.50 XYZ`.
pub(crate) fn money(minor: i128, currency: &str) -> String {
    let code = currency.trim().to_ascii_uppercase();
    let found = iso_currency::Currency::from_code(&code);
    let exponent = found.and_then(|c| c.exponent()).unwrap_or(2) as u32;
    let negative = minor < 0;
    let minor = minor.unsigned_abs();
    let unit = 10u128.pow(exponent);
    let amount = if exponent == 0 {
        group(minor / unit)
    } else {
        format!("{}.{:0width$}", group(minor / unit), minor % unit, width = exponent as usize)
    };
    let sign = if negative { "-" } else { "" };
    match found.map(|c| c.symbol().to_string()) {
        Some(symbol) if !symbol.is_empty() && symbol != code => format!("{sign}{symbol}{amount}"),
        _ => format!("{sign}{amount} {code}"),
    }
}

fn group(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A channel's name for people.
pub(crate) fn channel(name: &str) -> String {
    match name {
        "email" => "E-mail".into(),
        "sms" => "SMS".into(),
        "voice" => "Phone".into(),
        "telegram" => "Telegram".into(),
        "whatsapp" => "WhatsApp".into(),
        "web" => "Web".into(),
        "web-chat" => "Web chat".into(),
        "shop" => "Online shop".into(),
        "store" => "Store till".into(),
        "marketplace" => "Marketplace".into(),
        "maps" => "Maps".into(),
        "payments" => "Payments".into(),
        "shipping" => "Shipping".into(),
        "switchboard" => "Switchboard".into(),
        other => {
            let mut chars = other.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// A word with its count: `1 order`, `3 orders`.
pub(crate) fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_people_say_them() {
        assert_eq!(span(12_000), "12 s");
        assert_eq!(span(5 * 60_000), "5 min");
        assert_eq!(span(3 * 3_600_000), "3 h");
        assert_eq!(span(3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
        assert_eq!(span(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(span(-5), "0 s");
    }

    #[test]
    fn money_uses_each_currency_exponent() {
        assert_eq!(money(1250, "EUR"), "€12.50");
        assert_eq!(money(1_234_567, "usd"), "$12,345.67");
        assert_eq!(money(1200, "JPY"), "¥1,200");
        assert_eq!(money(-500, "EUR"), "-€5.00");
        assert_eq!(money(1050, "XYZ"), "10.50 XYZ");
        assert_eq!(money(i64::MAX as i128 * 3, "EUR"), "€276,701,161,105,643,274.21");
    }

    #[test]
    fn channels_have_names() {
        assert_eq!(channel("whatsapp"), "WhatsApp");
        assert_eq!(channel("viber"), "Viber");
        assert_eq!(channel(""), "");
    }
}
