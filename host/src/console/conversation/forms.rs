//! The forms of a conversation: reply (a refusal shows the page again with the reason and the
//! text), note, and the changes (assign, status, snooze, labels, priority).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Draft, render};
use crate::console::layout::PageError;
use crate::console::session::{Flash, Submitted, redirect_with};
use crate::desk::{ConversationChange, SendRequest};
use crate::http::AppState;
use crate::sla::Priority;
use crate::store::{Status, now_millis};

/// The reply form.
#[derive(Debug, Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    canned_reply: String,
    #[serde(default)]
    key: String,
}

/// A form posted by the script rather than the browser: it wants the outcome in words, not a
/// page.
fn from_script(headers: &HeaderMap) -> bool {
    headers.get("x-console-fetch").is_some()
}

/// `POST /conversations/{id}/reply`: sends through the desk; a refusal shows the page again with
/// the reason and what was typed.
pub(crate) async fn reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<ReplyForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let canned_reply = match form.canned_reply.trim() {
        "" => None,
        value => Some(value.parse().map_err(|_| {
            PageError::BadRequest(format!("The canned reply `{value}` is not one of the list."))
        })?),
    };
    let request = SendRequest {
        text: form.text.clone(),
        subject: Some(form.subject.trim().to_string()).filter(|s| !s.is_empty()),
        channel: Some(form.channel.trim().to_string()).filter(|c| !c.is_empty()),
        canned_reply,
    };
    let key = Some(form.key.trim().to_string()).filter(|k| !k.is_empty());
    match state.desk.reply(&viewer.principal(), id, request, key).await {
        Ok(outcome) => Ok(redirect_with(
            &format!("/conversations/{id}"),
            Flash::Done(format!(
                "Reply sent on {} (provider id {}{}).",
                outcome.connector,
                outcome.provider_id,
                outcome.status.map(|s| format!(", {s}")).unwrap_or_default()
            )),
        )),
        Err(error) => {
            let error = PageError::from(error);
            let status = match &error {
                PageError::Api(status, _) => *status,
                _ => StatusCode::BAD_REQUEST,
            };
            if status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN {
                return Err(error);
            }
            let draft = Draft {
                text: form.text,
                subject: form.subject,
                channel: form.channel,
                error: Some(format!("The reply was not sent. {error}")),
            };
            render(&state, &viewer, id, draft, status).await
        }
    }
}

/// The note form.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteForm {
    #[serde(default)]
    text: String,
}

/// `POST /conversations/{id}/note`.
pub(crate) async fn note(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<NoteForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let to = format!("/conversations/{id}");
    Ok(match state.desk.note(&viewer.principal(), id, &form.text).await {
        Ok(_) => redirect_with(&to, Flash::Done("Note added.".into())),
        Err(error) => redirect_with(
            &to,
            Flash::Failed(format!("The note was not added. {}", PageError::from(error))),
        ),
    })
}

/// The forms that change a conversation; each sends only its own fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangeForm {
    status: Option<String>,
    snooze: Option<String>,
    snooze_until: Option<String>,
    tz_offset: Option<String>,
    assignee: Option<String>,
    team: Option<String>,
    labels: Option<String>,
    priority: Option<String>,
    back: Option<String>,
}

/// `none` or an id, for a field that may be cleared.
fn id_or_none(field: &str, value: &str) -> Result<Option<i64>, PageError> {
    match value.trim() {
        "none" | "" => Ok(None),
        id => id.parse().map(Some).map_err(|_| {
            PageError::BadRequest(format!("The {field} `{id}` is not one of the list."))
        }),
    }
}

/// When a snooze ends: a preset span from now, or the date and time picked in the browser's
/// time zone (`tz_offset`: minutes behind UTC, as JavaScript's `getTimezoneOffset` says).
fn snooze_end(form: &ChangeForm, now: i64) -> Result<i64, PageError> {
    const HOUR: i64 = 3_600_000;
    Ok(match form.snooze.as_deref().unwrap_or("1h") {
        "1h" => now + HOUR,
        "4h" => now + 4 * HOUR,
        "1d" => now + 24 * HOUR,
        "3d" => now + 72 * HOUR,
        "1w" => now + 168 * HOUR,
        "until" => {
            let text = form.snooze_until.as_deref().unwrap_or("").trim();
            let local =
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map_err(|_| {
                    PageError::BadRequest("Pick the date and time the snooze ends.".into())
                })?;
            let offset: i64 = form.tz_offset.as_deref().unwrap_or("0").trim().parse().unwrap_or(0);
            if !(-16 * 60..=16 * 60).contains(&offset) {
                return Err(PageError::BadRequest("The time zone offset is out of range.".into()));
            }
            let at = local.and_utc().timestamp_millis() + offset * 60_000;
            if at <= now {
                return Err(PageError::BadRequest("The snooze must end in the future.".into()));
            }
            at
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "The snooze `{other}` is not one of the list."
            )));
        }
    })
}

fn change_of(form: &ChangeForm) -> Result<ConversationChange, PageError> {
    let now = now_millis();
    let mut change = ConversationChange::default();
    if let Some(status) = form.status.as_deref() {
        let parsed = Status::parse(status).ok_or_else(|| {
            PageError::BadRequest(format!(
                "The status `{status}` is not one of open, pending, snoozed, resolved."
            ))
        })?;
        if parsed == Status::Snoozed {
            change.snoozed_until = Some(snooze_end(form, now)?);
        }
        change.status = Some(parsed);
    }
    if let Some(assignee) = &form.assignee {
        change.assignee_id = Some(id_or_none("assignee", assignee)?);
    }
    if let Some(team) = &form.team {
        change.team_id = Some(id_or_none("team", team)?);
    }
    if let Some(labels) = &form.labels {
        change.labels = Some(
            labels
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    if let Some(priority) = form.priority.as_deref() {
        change.priority = Some(match priority {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "urgent" => Priority::Urgent,
            other => {
                return Err(PageError::BadRequest(format!(
                    "The priority `{other}` is not one of the list."
                )));
            }
        });
    }
    Ok(change)
}

fn done_message(change: &ConversationChange) -> String {
    let mut parts = Vec::new();
    if let Some(status) = change.status {
        parts.push(match status {
            Status::Resolved => "Resolved".to_string(),
            Status::Snoozed => "Snoozed".to_string(),
            other => format!("Status {}", other.as_str()),
        });
    }
    if change.assignee_id.is_some() || change.team_id.is_some() {
        parts.push("Assignment saved".into());
    }
    if change.labels.is_some() || change.priority.is_some() {
        parts.push("Saved".into());
    }
    if parts.is_empty() { "Nothing changed.".into() } else { format!("{}.", parts.join("; ")) }
}

/// `POST /conversations/{id}/change`: assign, status, snooze, labels, priority. From a page it
/// redirects back with a notice; from the script it answers the notice as text.
pub(crate) async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    submitted: Submitted<ChangeForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let back = form
        .back
        .clone()
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| format!("/conversations/{id}"));
    let outcome = match change_of(&form) {
        Ok(change) => {
            let message = done_message(&change);
            state
                .desk
                .change(&viewer.principal(), id, change)
                .await
                .map(|_| message)
                .map_err(PageError::from)
        }
        Err(error) => Err(error),
    };
    if from_script(&headers) {
        return Ok(match outcome {
            Ok(message) => (StatusCode::OK, message).into_response(),
            Err(error) => {
                let status = match &error {
                    PageError::Api(status, _) => *status,
                    PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
                    PageError::Forbidden(_) => StatusCode::FORBIDDEN,
                    PageError::NotFound(_) => StatusCode::NOT_FOUND,
                };
                (status, error.to_string()).into_response()
            }
        });
    }
    Ok(match outcome {
        Ok(message) => redirect_with(&back, Flash::Done(message)),
        Err(error) => redirect_with(&back, Flash::Failed(format!("Not changed. {error}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snoozes_end_when_asked() {
        let now = 1_790_000_000_000;
        let form = |snooze: &str, until: &str, offset: &str| ChangeForm {
            snooze: Some(snooze.into()),
            snooze_until: Some(until.into()),
            tz_offset: Some(offset.into()),
            ..ChangeForm::default()
        };
        assert_eq!(snooze_end(&form("4h", "", "0"), now).unwrap(), now + 4 * 3_600_000);
        // 2027-01-15 09:00 in Paris (UTC+1, offset -60) is 08:00 UTC.
        let at = snooze_end(&form("until", "2027-01-15T09:00", "-60"), now).unwrap();
        assert_eq!(
            at,
            chrono::DateTime::parse_from_rfc3339("2027-01-15T08:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert!(snooze_end(&form("until", "2020-01-01T09:00", "0"), now).is_err());
        assert!(snooze_end(&form("until", "tomorrow", "0"), now).is_err());
        assert!(snooze_end(&form("forever", "", "0"), now).is_err());
    }

    #[test]
    fn each_form_changes_only_its_fields() {
        let form = ChangeForm { labels: Some(" vip, refund ,,".into()), ..ChangeForm::default() };
        let change = change_of(&form).unwrap();
        assert_eq!(change.labels, Some(vec!["vip".to_string(), "refund".to_string()]));
        assert!(
            change.status.is_none() && change.assignee_id.is_none() && change.priority.is_none()
        );
        let form = ChangeForm { assignee: Some("none".into()), ..ChangeForm::default() };
        assert_eq!(change_of(&form).unwrap().assignee_id, Some(None));
        let form = ChangeForm { assignee: Some("x".into()), ..ChangeForm::default() };
        assert!(change_of(&form).is_err());
    }
}
