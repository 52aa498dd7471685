//! The targets of the load harness's issue, checked against one run's figures (never
//! asserted anywhere: a table in the report, so a regression is seen where it shows).
//!
//! - server CPU per echo message and per HTTP request: ours current-thread within 1.05x of
//!   the epoll limit, ours multi-thread at most 0.85x tokio multi-thread;
//! - syscalls per idle-paced request: 3 (rounded to a whole call: connection setup,
//!   spread over the run's requests, adds a few hundredths);
//! - server RSS per idle connection: at most 400 bytes.

use std::fmt::Write;

use crate::report::Metric;
use crate::workload::Column;

/// The targets table, in markdown.
pub fn markdown(metrics: &[Metric]) -> String {
    let mut md = String::from("### Targets\n\n| target | this run | met |\n|---|---|---|\n");
    for (workload, unit) in [("echo", "message"), ("http", "request")] {
        let cpu = format!("{workload} CPU/{unit}");
        let ratio = |a, b| Some(value(metrics, &cpu, a)? / value(metrics, &cpu, b)?);
        let row = ratio(Column::Ours, Column::LIMIT).map(|r| (format!("{r:.2}x"), r <= 1.05));
        line(
            &mut md,
            &format!("{workload}: CPU/{unit}, runtime / epoll <= 1.05"),
            row,
        );
        let row = ratio(Column::OursMt, Column::BASE).map(|r| (format!("{r:.2}x"), r <= 0.85));
        line(
            &mut md,
            &format!("{workload}: CPU/{unit}, runtime-mt / tokio-mt <= 0.85"),
            row,
        );
        let calls = format!("{workload} syscalls/{unit} idle-paced");
        for column in [Column::Ours, Column::OursMt] {
            let row = value(metrics, &calls, column).map(|c| (format!("{c:.2}"), c.round() <= 3.0));
            line(
                &mut md,
                &format!("{workload}: syscalls/{unit} idle-paced, {column} = 3"),
                row,
            );
        }
    }
    for column in [Column::Ours, Column::OursMt] {
        let row =
            value(metrics, "RSS/idle conn", column).map(|b| (format!("{b:.0} B"), b <= 400.0));
        line(
            &mut md,
            &format!("RSS per idle connection, {column} <= 400 B"),
            row,
        );
    }
    md
}

/// `column`'s figure of the metric called `name`.
fn value(metrics: &[Metric], name: &str, column: Column) -> Option<f64> {
    let metric = metrics.iter().find(|m| m.name == name)?;
    metric.values.iter().find(|(c, _)| *c == column)?.1
}

fn line(md: &mut String, target: &str, row: Option<(String, bool)>) {
    let _ = match row {
        Some((figure, true)) => writeln!(md, "| {target} | {figure} | yes |"),
        Some((figure, false)) => writeln!(md, "| {target} | {figure} | **no** |"),
        None => writeln!(md, "| {target} | – | not measured |"),
    };
}
