//! Service levels: how long a conversation may wait for its first response and for its
//! resolution, counted in the company's business hours (its time zone, working days and
//! holidays) when the policy says so.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

/// What conversations do with messages: the reopen window and the service levels.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskSettings {
    /// A customer writing again within this long after a conversation was resolved reopens
    /// it; later, a new conversation starts.
    pub reopen_within: Duration,
    /// Service levels and business hours.
    pub sla: Sla,
}

impl Default for DeskSettings {
    fn default() -> Self {
        // A week: "thanks, it works" a few days later belongs to the same ticket.
        DeskSettings { reopen_within: Duration::from_secs(7 * 24 * 3600), sla: Sla::default() }
    }
}

/// How urgent a conversation is.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal (the default).
    #[default]
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

/// When the company works: a time zone, opening hours per weekday, and holidays.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: chrono_tz::Tz,
    /// Monday first: (start, end) in minutes since local midnight.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    /// Always open (UTC, every day, all day).
    fn default() -> Self {
        Calendar {
            tz: chrono_tz::UTC,
            week: std::array::from_fn(|_| vec![(0, 24 * 60)]),
            holidays: BTreeSet::new(),
        }
    }
}

/// Why a calendar was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Unknown time zone.
    #[error("time zone `{0}` is not an IANA name such as `Europe/Paris`")]
    TimeZone(String),
    /// A day's hours do not parse.
    #[error("hours `{0}` are not `HH:MM-HH:MM[, HH:MM-HH:MM]`, e.g. `09:00-12:30, 13:30-18:00`")]
    Hours(String),
    /// A holiday is not a date.
    #[error("holiday `{0}` is not a date such as `2026-12-25`")]
    Holiday(String),
}

impl Calendar {
    /// A calendar in `tz` (IANA name) with the hours of each weekday (Monday first; an empty
    /// string is a closed day) and holidays (`YYYY-MM-DD`).
    pub fn new(tz: &str, week: &[String; 7], holidays: &[String]) -> Result<Self, CalendarError> {
        let tz: chrono_tz::Tz =
            tz.trim().parse().map_err(|_| CalendarError::TimeZone(tz.to_string()))?;
        let mut parsed: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, hours) in week.iter().enumerate() {
            parsed[day] = parse_hours(hours)?;
        }
        let holidays = holidays
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map_err(|_| CalendarError::Holiday(d.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Calendar { tz, week: parsed, holidays })
    }

    /// The working intervals of a local day, as UTC milliseconds.
    fn intervals(&self, day: NaiveDate) -> Vec<(i64, i64)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let hours = &self.week[day.weekday().num_days_from_monday() as usize];
        hours.iter().map(|(start, end)| (self.at(day, *start), self.at(day, *end))).collect()
    }

    /// Local `day` at `minutes` past midnight, in UTC milliseconds (the earlier instant when the
    /// clock goes back, the first valid one when it jumps forward).
    fn at(&self, day: NaiveDate, minutes: u32) -> i64 {
        let (day, minutes) = if minutes >= 24 * 60 {
            (day.succ_opt().unwrap_or(day), minutes - 24 * 60)
        } else {
            (day, minutes)
        };
        let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN);
        let local = day.and_time(time);
        for shift in 0..=180 {
            let candidate = local + chrono::Duration::minutes(shift);
            if let Some(at) = self.tz.from_local_datetime(&candidate).earliest() {
                return at.timestamp_millis();
            }
        }
        local.and_utc().timestamp_millis()
    }

    fn local_day(&self, ms: i64) -> NaiveDate {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&self.tz).date_naive())
            .unwrap_or_default()
    }

    /// The instant `duration` of working time after `start`.
    pub fn add(&self, start: i64, duration: Duration) -> i64 {
        let mut remaining = duration.as_millis() as i64;
        let mut day = self.local_day(start);
        // Ten years of days at most: a calendar with no working day never ends the loop.
        for _ in 0..3660 {
            for (begin, end) in self.intervals(day) {
                if end <= start {
                    continue;
                }
                let from = begin.max(start);
                if remaining <= end - from {
                    return from + remaining;
                }
                remaining -= end - from;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        start + duration.as_millis() as i64
    }

    /// Working time between `from` and `to` (zero if `to` is earlier).
    pub fn between(&self, from: i64, to: i64) -> Duration {
        if to <= from {
            return Duration::ZERO;
        }
        let mut total = 0i64;
        let mut day = self.local_day(from);
        let last = self.local_day(to);
        while day <= last {
            for (begin, end) in self.intervals(day) {
                let (a, b) = (begin.max(from), end.min(to));
                if b > a {
                    total += b - a;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Duration::from_millis(total as u64)
    }
}

fn parse_hours(text: &str) -> Result<Vec<(u32, u32)>, CalendarError> {
    let bad = || CalendarError::Hours(text.to_string());
    let minutes = |hhmm: &str| -> Result<u32, CalendarError> {
        let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(h * 60 + m)
    };
    let mut hours = Vec::new();
    for range in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (start, end) = range.split_once('-').ok_or_else(bad)?;
        let (start, end) = (minutes(start)?, minutes(end)?);
        if end <= start {
            return Err(bad());
        }
        hours.push((start, end));
    }
    hours.sort_unstable();
    if hours.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(bad());
    }
    Ok(hours)
}

/// One service-level policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// It applies to conversations opened on this connector or channel (any, when none).
    pub channel: Option<String>,
    /// It applies to conversations of this priority (any, when none).
    pub priority: Option<Priority>,
    /// The first response is due this long after the conversation opened.
    pub first_response: Option<Duration>,
    /// Resolution is due this long after it opened.
    pub resolution: Option<Duration>,
    /// Counted in business hours (else around the clock).
    pub business_hours: bool,
}

/// The company's policies and calendar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sla {
    /// Policies, in config order.
    pub policies: Vec<Policy>,
    /// Business hours.
    pub calendar: Calendar,
}

impl Sla {
    /// The most specific policy for a conversation on `connector`/`channel` at `priority`:
    /// one naming both the channel and the priority, else the channel, else the priority,
    /// else one naming neither.
    pub fn policy(&self, connector: &str, channel: &str, priority: Priority) -> Option<&Policy> {
        let on = |p: &Policy| p.channel.as_deref().is_none_or(|c| c == connector || c == channel);
        let at = |p: &Policy| p.priority.is_none_or(|q| q == priority);
        self.policies
            .iter()
            .filter(|p| on(p) && at(p))
            .max_by_key(|p| (p.channel.is_some(), p.priority.is_some()))
    }

    /// A policy's policy by name.
    pub fn named(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// When `duration` is up after `start`, under `policy`'s way of counting.
    pub fn due(&self, policy: &Policy, start: i64, duration: Duration) -> i64 {
        if policy.business_hours {
            self.calendar.add(start, duration)
        } else {
            start + duration.as_millis() as i64
        }
    }

    /// How far a due time moves for a pause from `from` to `to` (the clock stops while a
    /// conversation waits for the customer).
    pub fn paused(&self, policy: &Policy, due: i64, from: i64, to: i64) -> i64 {
        let pause = if policy.business_hours {
            self.calendar.between(from, to)
        } else {
            Duration::from_millis((to - from).max(0) as u64)
        };
        due + pause.as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Calendar {
        let day = "09:00-12:00, 13:00-18:00".to_string();
        let week =
            [day.clone(), day.clone(), day.clone(), day.clone(), day, String::new(), String::new()];
        Calendar::new("Europe/Paris", &week, &["2026-12-25".into()]).unwrap()
    }

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    #[test]
    fn working_time_skips_nights_lunch_weekends_and_holidays() {
        let cal = paris();
        let h = |n: u64| Duration::from_secs(n * 3600);
        // Thursday 24 Dec 2026, 17:00 Paris (16:00 UTC) + 2 h: one hour that evening; Friday
        // the 25th is a holiday and then comes the weekend: due Monday 28th, 10:00 Paris.
        assert_eq!(cal.add(ms("2026-12-24T16:00:00Z"), h(2)), ms("2026-12-28T09:00:00Z"));
        // Lunch is not working time.
        assert_eq!(cal.add(ms("2026-12-01T10:30:00Z"), h(1)), ms("2026-12-01T12:30:00Z"));
        // Before opening: counted from opening.
        assert_eq!(cal.add(ms("2026-12-01T06:00:00Z"), h(1)), ms("2026-12-01T09:00:00Z"));
        assert_eq!(cal.between(ms("2026-12-04T16:00:00Z"), ms("2026-12-07T09:00:00Z")), h(2));
        assert_eq!(
            cal.between(ms("2026-12-07T09:00:00Z"), ms("2026-12-04T16:00:00Z")),
            Duration::ZERO
        );
    }

    #[test]
    fn daylight_saving_changes_keep_local_hours() {
        let cal = paris();
        // Sunday 29 March 2026 the clocks jump; Monday opens at 09:00 CEST = 07:00 UTC.
        assert_eq!(
            cal.add(ms("2026-03-28T12:00:00Z"), Duration::from_secs(60)),
            ms("2026-03-30T07:01:00Z")
        );
    }

    #[test]
    fn bad_calendars_say_what_is_wrong() {
        let open = std::array::from_fn(|_| "09:00-17:00".to_string());
        assert!(matches!(
            Calendar::new("Mars/Olympus", &open, &[]),
            Err(CalendarError::TimeZone(_))
        ));
        let mut bad = open.clone();
        bad[2] = "9-17".into();
        assert!(matches!(Calendar::new("UTC", &bad, &[]), Err(CalendarError::Hours(_))));
        bad[2] = "17:00-09:00".into();
        assert!(matches!(Calendar::new("UTC", &bad, &[]), Err(CalendarError::Hours(_))));
        assert!(matches!(
            Calendar::new("UTC", &open, &["25/12".into()]),
            Err(CalendarError::Holiday(_))
        ));
    }

    #[test]
    fn the_most_specific_policy_applies() {
        let policy = |name: &str, channel: Option<&str>, priority: Option<Priority>| Policy {
            name: name.into(),
            channel: channel.map(str::to_string),
            priority,
            first_response: Some(Duration::from_secs(3600)),
            resolution: None,
            business_hours: false,
        };
        let sla = Sla {
            policies: vec![
                policy("default", None, None),
                policy("email", Some("email"), None),
                policy("urgent", None, Some(Priority::Urgent)),
                policy("urgent-sms", Some("sms"), Some(Priority::Urgent)),
            ],
            calendar: Calendar::default(),
        };
        let name = |connector, channel, priority| {
            sla.policy(connector, channel, priority).map(|p| p.name.as_str())
        };
        assert_eq!(name("email", "email", Priority::Normal), Some("email"));
        assert_eq!(name("twilio", "sms", Priority::Urgent), Some("urgent-sms"));
        assert_eq!(name("telegram", "telegram", Priority::Urgent), Some("urgent"));
        assert_eq!(name("telegram", "telegram", Priority::Low), Some("default"));
        let p = sla.named("default").unwrap();
        assert_eq!(sla.paused(p, 10_000, 1_000, 4_000), 13_000);
    }
}
