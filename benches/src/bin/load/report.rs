//! The markdown report: one table per workload (medians over the repetitions) and one for
//! idle connections, every cell with its ratio to tokio multi-thread, and the figures the
//! chart draws ([`Metric`]).

use std::fmt::Write;

use crate::run::{Config, Results, Sample};
use crate::workload::{Column, Workload};

/// One chart group: a figure per column (ratio to [`Column::BASE`] taken by the chart).
#[derive(Debug)]
pub struct Metric {
    pub name: String,
    pub higher_is_better: bool,
    pub values: Vec<(Column, Option<f64>)>,
}

/// The figures of every chart group, in table order.
pub fn metrics(cfg: &Config, results: &Results) -> Vec<Metric> {
    let mut metrics = Vec::new();
    for workload in Workload::ALL {
        let unit = unit(workload);
        let medians = |pick: fn(&Sample) -> f64| {
            let values = cfg
                .columns
                .iter()
                .map(|&c| (c, median(results, c, workload, pick)));
            values.collect::<Vec<_>>()
        };
        let syscalls = |idle: bool| {
            let values = cfg.columns.iter().map(|&c| {
                let calls = results.syscalls.get(&(c, workload));
                (
                    c,
                    calls.map(|&(saturated, paced)| if idle { paced } else { saturated }),
                )
            });
            values.collect::<Vec<_>>()
        };
        metrics.extend([
            Metric {
                name: format!("{workload} {unit}s/s"),
                higher_is_better: true,
                values: medians(|s| s.per_sec),
            },
            Metric {
                name: format!("{workload} p99"),
                higher_is_better: false,
                values: medians(|s| s.p99.as_secs_f64() * 1e6),
            },
            Metric {
                name: format!("{workload} CPU/{unit}"),
                higher_is_better: false,
                values: medians(|s| s.cpu.as_secs_f64() * 1e6),
            },
            Metric {
                name: format!("{workload} syscalls/{unit} saturated"),
                higher_is_better: false,
                values: syscalls(false),
            },
            Metric {
                name: format!("{workload} syscalls/{unit} idle-paced"),
                higher_is_better: false,
                values: syscalls(true),
            },
        ]);
    }
    metrics.push(Metric {
        name: "RSS/idle conn".into(),
        higher_is_better: false,
        values: cfg
            .columns
            .iter()
            .map(|&c| (c, results.idle.get(&c).copied()))
            .collect(),
    });
    metrics
}

fn unit(workload: Workload) -> &'static str {
    match workload {
        Workload::Echo => "message",
        Workload::Http => "request",
    }
}

fn median(
    results: &Results,
    column: Column,
    workload: Workload,
    pick: fn(&Sample) -> f64,
) -> Option<f64> {
    let mut values: Vec<f64> = results
        .load
        .get(&(column, workload))?
        .iter()
        .map(pick)
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(match values.len() % 2 {
        1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2.0,
    })
}

/// `value / base`, when both are there.
pub fn ratio(metric: &Metric, value: Option<f64>) -> Option<f64> {
    let base = metric.values.iter().find(|(c, _)| *c == Column::BASE)?.1?;
    let value = value?;
    (base > 0.0).then(|| value / base)
}

/// The whole report in markdown.
pub fn markdown(cfg: &Config, results: &Results, metrics: &[Metric]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "{} reps (median), {} s measured after {} s warm-up, {} connections, {} worker threads \
         for the -mt columns; ratio = column / tokio-mt.\n",
        cfg.reps, cfg.secs, cfg.warmup_secs, cfg.conns, cfg.threads
    );
    for (workload, rows) in Workload::ALL.iter().zip(metrics.chunks(5)) {
        let unit = unit(*workload);
        let _ = writeln!(md, "### {workload}\n");
        let _ = writeln!(
            md,
            "| column | {unit}s/s | p50 µs | p99 µs | CPU µs/{unit} | syscalls/{unit} saturated | syscalls/{unit} idle-paced |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for (i, &column) in cfg.columns.iter().enumerate() {
            let p50 = median(results, column, *workload, |s| s.p50.as_secs_f64() * 1e6);
            let _ = write!(
                md,
                "| {column} | {} | {} ",
                cell(&rows[0], i, 0),
                micros(p50)
            );
            for (metric, decimals) in rows[1..].iter().zip([0, 2, 2, 2]) {
                let _ = write!(md, "| {} ", cell(metric, i, decimals));
            }
            let _ = writeln!(md, "|");
        }
        let _ = writeln!(md);
    }
    let rss = &metrics[metrics.len() - 1];
    let _ = writeln!(
        md,
        "### {} idle connections (echo servers)\n",
        cfg.idle_conns
    );
    let _ = writeln!(
        md,
        "| column | server RSS bytes per idle connection |\n|---|---|"
    );
    for (i, column) in cfg.columns.iter().enumerate() {
        let _ = writeln!(md, "| {column} | {} |", cell(rss, i, 0));
    }
    for why in &results.skipped {
        let _ = writeln!(md, "\nSkipped: {why}.");
    }
    md
}

/// `value (ratio)` of column `i`, or `–`.
fn cell(metric: &Metric, i: usize, decimals: usize) -> String {
    let value = metric.values[i].1;
    match (value, ratio(metric, value)) {
        (Some(v), Some(r)) => format!("{} ({r:.2})", number(v, decimals)),
        (Some(v), None) => number(v, decimals),
        (None, _) => "–".into(),
    }
}

/// `123,456` for whole numbers, else `decimals` places.
fn number(value: f64, decimals: usize) -> String {
    if decimals > 0 {
        return format!("{value:.decimals$}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

fn micros(value: Option<f64>) -> String {
    value.map_or("–".into(), |us| number(us, 0))
}
