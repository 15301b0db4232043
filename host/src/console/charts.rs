//! Charts drawn on the server as SVG: horizontal bars, one group per row, one bar per series.
//! Each chart says what it shows in words too (its title, and a description listing every
//! value), so a screen reader gets the same figures.

use maud::{Markup, html};

/// One bar.
pub(crate) struct Bar {
    /// The value that sets its length.
    pub value: f64,
    /// How it is written next to the bar.
    pub label: String,
}

/// One row: a name and a bar per series (`None`: no figure for that series).
pub(crate) struct Row {
    /// e.g. a channel's name.
    pub name: String,
    /// One per series, in the order of the chart's series.
    pub bars: Vec<Option<Bar>>,
}

// The box is about the size a chart takes on a laptop, so its text reads at its own size.
const WIDTH: f64 = 460.0;
const NAME_WIDTH: f64 = 120.0;
const VALUE_WIDTH: f64 = 95.0;
const BAR_HEIGHT: f64 = 16.0;
const GAP: f64 = 10.0;

/// A horizontal bar chart titled `title`, with `series` names (shown as a legend).
pub(crate) fn bars(id: &str, title: &str, series: &[&str], rows: &[Row]) -> Markup {
    let max =
        rows.iter().flat_map(|r| r.bars.iter().flatten()).map(|b| b.value).fold(0.0_f64, f64::max);
    let per_row = series.len().max(1) as f64 * BAR_HEIGHT + GAP;
    let height = (rows.len() as f64 * per_row + GAP).max(40.0);
    let span = WIDTH - NAME_WIDTH - VALUE_WIDTH;
    let description: Vec<String> = rows
        .iter()
        .map(|row| {
            let values: Vec<String> = series
                .iter()
                .zip(&row.bars)
                .map(|(s, b)| match b {
                    Some(b) => format!("{s} {}", b.label),
                    None => format!("{s} none"),
                })
                .collect();
            format!("{}: {}", row.name, values.join(", "))
        })
        .collect();
    html! {
        figure class="chart" {
            figcaption id=(format!("{id}-title")) { (title) }
            @if series.len() > 1 {
                ul class="legend" aria-hidden="true" {
                    @for (i, name) in series.iter().enumerate() {
                        li { span class=(format!("swatch series-{i}")) {} (name) }
                    }
                }
            }
            @if rows.iter().all(|r| r.bars.iter().all(Option::is_none)) {
                p class="muted" { "No figures in this period." }
            } @else {
                svg viewBox=(format!("0 0 {WIDTH} {height}")) role="img"
                    aria-labelledby=(format!("{id}-title {id}-desc")) preserveAspectRatio="xMinYMin meet" {
                    desc id=(format!("{id}-desc")) { (description.join("; ")) }
                    @for (r, row) in rows.iter().enumerate() {
                        @let top = GAP + r as f64 * per_row;
                        text x=(NAME_WIDTH - 8.0) y=(top + per_row / 2.0 - GAP / 2.0 + 4.0) class="name" text-anchor="end" {
                            (truncate(&row.name, 16))
                        }
                        @for (i, bar) in row.bars.iter().enumerate() {
                            @let y = top + i as f64 * BAR_HEIGHT;
                            @if let Some(bar) = bar {
                                @let length = if max > 0.0 { (bar.value / max * span).max(if bar.value > 0.0 { 2.0 } else { 0.0 }) } else { 0.0 };
                                rect x=(NAME_WIDTH) y=(y) width=(format!("{length:.1}")) height=(BAR_HEIGHT - 3.0)
                                    class=(format!("bar series-{i}")) rx="2" {}
                                text x=(NAME_WIDTH + length + 6.0) y=(y + BAR_HEIGHT - 5.0) class="value" { (bar.label) }
                            } @else {
                                text x=(NAME_WIDTH + 2.0) y=(y + BAR_HEIGHT - 5.0) class="value muted" { "—" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_and_described_in_words() {
        let rows = vec![
            Row {
                name: "WhatsApp".into(),
                bars: vec![Some(Bar { value: 10.0, label: "10".into() })],
            },
            Row { name: "E-mail".into(), bars: vec![Some(Bar { value: 5.0, label: "5".into() })] },
            Row { name: "SMS".into(), bars: vec![None] },
        ];
        let svg = bars("c", "Conversations", &["opened"], &rows).into_string();
        let span = WIDTH - NAME_WIDTH - VALUE_WIDTH;
        assert!(svg.contains(&format!("width=\"{span:.1}\"")), "{svg}");
        assert!(svg.contains(&format!("width=\"{:.1}\"", span / 2.0)), "{svg}");
        assert!(svg.contains("WhatsApp: opened 10; E-mail: opened 5; SMS: opened none"), "{svg}");
    }
}
