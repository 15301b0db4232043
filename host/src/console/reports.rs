//! Reports (supervisor): over a chosen period, per channel, per agent and per team — charts and
//! tables of conversations opened and resolved, first response and resolution times, SLA met,
//! customers counted once, and per channel the orders, buyers and revenue.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::{self, Bar, Row};
use super::format;
use super::layout::{self, Nav, PageError};
use super::session::Viewer;
use crate::auth::Access;
use crate::http::AppState;
use crate::reports::{Durations, Group, Report, ReportRow};

const DAY: i64 = 24 * 3600 * 1000;

/// The report's query string: dates (UTC days), `to` inclusive.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
}

fn date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, PageError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| {
            PageError::BadRequest(format!("The {field} date `{v}` is not a date like 2026-12-01."))
        }),
    }
}

fn start_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0)
}

/// `GET /reports`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    viewer.require(Access::Supervisor)?;
    let today = chrono::DateTime::from_timestamp_millis(crate::store::now_millis())
        .map(|now| now.date_naive())
        .unwrap_or_default();
    let to_day = date("to", query.to.as_deref())?.unwrap_or(today);
    let from_day = date("from", query.from.as_deref())?
        .unwrap_or_else(|| to_day.checked_sub_days(Days::new(29)).unwrap_or(to_day));
    if from_day > to_day {
        return Err(PageError::BadRequest("The period must start before it ends.".into()));
    }
    let (from, to) = (start_of(from_day), start_of(to_day) + DAY);
    if to - from > 366 * DAY {
        return Err(PageError::BadRequest("A report covers at most a year.".into()));
    }
    let channel = state.store.report(from, to, Group::Channel).await?;
    let agent = state.store.report(from, to, Group::Agent).await?;
    let team = state.store.report(from, to, Group::Team).await?;
    let names = connector_names(&state);
    let preset = |days: u64| {
        let start = today.checked_sub_days(Days::new(days - 1)).unwrap_or(today);
        format!("/reports?from={start}&to={today}")
    };
    let body = html! {
        h1 { "Reports" }
        form method="get" action="/reports" class="filters" {
            label for="from" { "From" }
            input id="from" name="from" type="date" value=(from_day.to_string()) required;
            label for="to" { "To (inclusive)" }
            input id="to" name="to" type="date" value=(to_day.to_string()) required;
            button type="submit" class="primary" { "Show" }
            span class="muted" { " Days in UTC · " }
            a href=(preset(7)) { "7 days" } " · " a href=(preset(30)) { "30 days" } " · " a href=(preset(90)) { "90 days" }
        }
        (totals(&channel))
        (section("channel", "By channel", &channel, &names, true))
        (section("agent", "By agent", &agent, &names, false))
        (section("team", "By team", &team, &names, false))
    };
    Ok(layout::page(&viewer, Nav::Reports, "Reports", body))
}

fn connector_names(state: &AppState) -> Vec<(String, String)> {
    state
        .registry
        .all()
        .iter()
        .map(|slot| {
            let name = slot
                .loaded()
                .map(|c| c.manifest().display_name.clone())
                .unwrap_or_else(|| slot.id.clone());
            (slot.id.clone(), name)
        })
        .collect()
}

fn duration(d: &Durations) -> String {
    match (d.median_ms, d.p90_ms) {
        (Some(median), Some(p90)) => {
            format!("{} (p90 {})", format::span(median), format::span(p90))
        }
        _ => "—".into(),
    }
}

fn revenue(row: &ReportRow) -> String {
    match &row.revenue {
        Some(amounts) if !amounts.is_empty() => amounts
            .iter()
            .map(|a| format::money(a.amount_minor, &a.currency))
            .collect::<Vec<_>>()
            .join(" + "),
        _ => "—".into(),
    }
}

fn totals(report: &Report) -> Markup {
    let t = &report.total;
    html! {
        section aria-labelledby="totals-title" {
            h2 id="totals-title" class="visually-hidden" { "The whole period" }
            dl class="totals" {
                div { dt { "Conversations opened" } dd { (t.opened) } }
                div { dt { "Resolved" } dd { (t.resolved) } }
                div { dt { "Customers (each once)" } dd { (t.customers) } }
                div { dt { "First response, median" } dd { (t.first_response.median_ms.map(format::span).unwrap_or_else(|| "—".into())) } }
                div { dt { "Resolution, median" } dd { (t.resolution.median_ms.map(format::span).unwrap_or_else(|| "—".into())) } }
                div { dt { "SLA targets met" } dd { (t.sla_met_percent.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "—".into())) } }
                div { dt { "Orders" } dd { (t.orders.unwrap_or(0)) } }
                div { dt { "Buyers (each once)" } dd { (t.buyers.unwrap_or(0)) } }
                div { dt { "Revenue" } dd { (revenue(t)) } }
            }
        }
    }
}

fn row_name(group: &str, row: &ReportRow, names: &[(String, String)]) -> String {
    if row.key == "none" {
        return match group {
            "agent" => "Unassigned".into(),
            "team" => "No team".into(),
            _ => "Unknown channel".into(),
        };
    }
    if let Some(name) = &row.name {
        return name.clone();
    }
    names
        .iter()
        .find(|(id, _)| *id == row.key)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| row.key.clone())
}

fn count_bar(value: i64) -> Option<Bar> {
    Some(Bar { value: value as f64, label: value.to_string() })
}

fn time_bar(ms: Option<i64>) -> Option<Bar> {
    ms.map(|ms| Bar { value: ms as f64, label: format::span(ms) })
}

fn section(
    group: &str,
    title: &str,
    report: &Report,
    names: &[(String, String)],
    commerce: bool,
) -> Markup {
    let rows = &report.rows;
    let name = |row: &ReportRow| row_name(group, row, names);
    let chart_rows = |f: &dyn Fn(&ReportRow) -> Vec<Option<Bar>>| -> Vec<Row> {
        rows.iter().map(|row| Row { name: name(row), bars: f(row) }).collect()
    };
    html! {
        section class="report" aria-labelledby=(format!("{group}-title")) {
            h2 id=(format!("{group}-title")) { (title) }
            @if rows.is_empty() {
                p class="empty" { "No conversations in this period." }
            } @else {
                div class="charts" {
                    (charts::bars(&format!("{group}-conversations"), "Conversations", &["opened", "resolved"],
                        &chart_rows(&|r| vec![count_bar(r.opened), count_bar(r.resolved)])))
                    (charts::bars(&format!("{group}-first-response"), "First response time", &["median", "p90"],
                        &chart_rows(&|r| vec![time_bar(r.first_response.median_ms), time_bar(r.first_response.p90_ms)])))
                    (charts::bars(&format!("{group}-resolution"), "Resolution time", &["median", "p90"],
                        &chart_rows(&|r| vec![time_bar(r.resolution.median_ms), time_bar(r.resolution.p90_ms)])))
                    (charts::bars(&format!("{group}-sla"), "SLA targets met", &["met"],
                        &chart_rows(&|r| vec![r.sla_met_percent.map(|p| Bar { value: p, label: format!("{p:.0} % of {}", r.sla_targets) })])))
                    (charts::bars(&format!("{group}-customers"), "Customers, each counted once", &["customers"],
                        &chart_rows(&|r| vec![count_bar(r.customers)])))
                    @if commerce {
                        (charts::bars(&format!("{group}-orders"), "Orders and buyers (each buyer once)", &["orders", "buyers"],
                            &chart_rows(&|r| vec![r.orders.and_then(count_bar), r.buyers.and_then(count_bar)])))
                        @for currency in currencies(report) {
                            (charts::bars(&format!("{group}-revenue-{}", currency.to_lowercase()), &format!("Revenue in {currency}"), &["revenue"],
                                &chart_rows(&|r| vec![r.revenue.as_ref().and_then(|a| a.iter().find(|a| a.currency == currency))
                                    .map(|a| Bar { value: a.amount_minor as f64, label: format::money(a.amount_minor, &a.currency) })])))
                        }
                    }
                }
                div class="table-wrap" {
                    table {
                        caption { (title) ": the figures" }
                        thead { tr {
                            th scope="col" { (match group { "agent" => "Agent", "team" => "Team", _ => "Channel" }) }
                            th scope="col" { "Opened" } th scope="col" { "Resolved" } th scope="col" { "Customers" }
                            th scope="col" { "First response" } th scope="col" { "Resolution" } th scope="col" { "SLA met" }
                            @if commerce { th scope="col" { "Orders" } th scope="col" { "Buyers" } th scope="col" { "Revenue" } }
                        } }
                        tbody {
                            @for row in rows {
                                tr {
                                    th scope="row" { (name(row)) }
                                    td { (row.opened) } td { (row.resolved) } td { (row.customers) }
                                    td { (duration(&row.first_response)) } td { (duration(&row.resolution)) }
                                    td { (row.sla_met_percent.map(|p| format!("{p:.0} % of {}", row.sla_targets)).unwrap_or_else(|| "—".into())) }
                                    @if commerce { td { (row.orders.unwrap_or(0)) } td { (row.buyers.unwrap_or(0)) } td { (revenue(row)) } }
                                }
                            }
                        }
                        tfoot { tr {
                            th scope="row" { "Total (customers once)" }
                            td { (report.total.opened) } td { (report.total.resolved) } td { (report.total.customers) }
                            td { (duration(&report.total.first_response)) } td { (duration(&report.total.resolution)) }
                            td { (report.total.sla_met_percent.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "—".into())) }
                            @if commerce { td { (report.total.orders.unwrap_or(0)) } td { (report.total.buyers.unwrap_or(0)) } td { (revenue(&report.total)) } }
                        } }
                    }
                }
            }
        }
    }
}

fn currencies(report: &Report) -> Vec<String> {
    let mut all: Vec<String> = report
        .rows
        .iter()
        .flat_map(|r| r.revenue.iter().flatten().map(|a| a.currency.clone()))
        .collect();
    all.sort();
    all.dedup();
    all
}
