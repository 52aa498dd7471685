//! The chart, hand-written SVG: one block per metric, a horizontal bar per column giving
//! its ratio to tokio multi-thread (a dashed line at 1), and the epoll limit drawn as a
//! red line across the block at its own ratio. Ratios past [`MAX`] are drawn at it.

use std::fmt::Write;

use crate::report::{self, Metric};
use crate::workload::Column;

const MAX: f64 = 3.0;
const WIDTH: f64 = 760.0;
/// Where bars start, after the column labels.
const LEFT: f64 = 110.0;
/// Pixels for a ratio of 1.
const UNIT: f64 = (WIDTH - LEFT - 60.0) / MAX;
const BAR: f64 = 11.0;
const GAP: f64 = 3.0;
const TITLE: f64 = 22.0;

/// The SVG document for `metrics`.
pub fn chart(metrics: &[Metric], title: &str) -> String {
    let bars = |m: &Metric| m.values.iter().filter(|(c, _)| *c != Column::LIMIT).count() as f64;
    let height: f64 = 40.0
        + metrics
            .iter()
            .map(|m| TITLE + bars(m) * (BAR + GAP) + 10.0)
            .sum::<f64>();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let mut y = 40.0;
    for metric in metrics {
        y = block(&mut svg, metric, y);
    }
    svg.push_str("</svg>\n");
    svg
}

/// One metric's block from height `y`; returns where the next starts.
fn block(svg: &mut String, metric: &Metric, mut y: f64) -> f64 {
    let better = if metric.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let _ = writeln!(
        svg,
        r##"<text x="10" y="{}" font-weight="bold">{} <tspan font-weight="normal" fill="#666">(ratio to tokio-mt, {better})</tspan></text>"##,
        y + 14.0,
        escape(&metric.name)
    );
    y += TITLE;
    let top = y;
    for &(column, value) in metric.values.iter().filter(|(c, _)| *c != Column::LIMIT) {
        let ratio = report::ratio(metric, value);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{column}</text>"#,
            LEFT - 6.0,
            y + BAR - 2.0
        );
        match ratio {
            Some(r) => {
                let w = r.min(MAX) * UNIT;
                let _ = writeln!(
                    svg,
                    r#"<rect x="{LEFT}" y="{y}" width="{w:.1}" height="{BAR}" fill="{}"/><text x="{:.1}" y="{}">{r:.2}</text>"#,
                    color(column),
                    LEFT + w + 4.0,
                    y + BAR - 2.0
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    r##"<text x="{}" y="{}" fill="#999">n/a</text>"##,
                    LEFT + 4.0,
                    y + BAR - 2.0
                );
            }
        }
        y += BAR + GAP;
    }
    let one = LEFT + UNIT;
    let _ = writeln!(
        svg,
        r##"<line x1="{one}" y1="{top}" x2="{one}" y2="{y}" stroke="#333" stroke-dasharray="3,2"/>"##
    );
    let limit = metric.values.iter().find(|(c, _)| *c == Column::LIMIT);
    if let Some(r) = limit.and_then(|&(_, v)| report::ratio(metric, v)) {
        let x = LEFT + r.min(MAX) * UNIT;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{y}" stroke="#d00" stroke-width="2"/><text x="{}" y="{}" text-anchor="end" fill="#d00">epoll limit {r:.2}</text>"##,
            WIDTH - 10.0,
            top - TITLE + 14.0
        );
    }
    y + 10.0
}

fn color(column: Column) -> &'static str {
    match column {
        Column::Ours => "#4a90d9",
        Column::OursMt => "#1f5fa8",
        Column::Tokio => "#f0a04b",
        Column::TokioMt => "#c56d10",
        Column::Smol => "#7bc47f",
        Column::SmolMt => "#3d8b40",
        Column::Epoll => "#d00",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
