//! `timer_lateness`: how late a short sleep wakes, per runtime (not a criterion bench).
//!
//! For `sleep(500 µs)` and `sleep(1 ms)`, one task sleeps many times in a row and records
//! `elapsed - requested` for each sleep; the table gives the median, p90, p99 and max
//! lateness per runtime, and the earliest wake-up (negative would mean a sleep returned
//! early). Each runtime is current-thread: ours, tokio's `current_thread`, smol's
//! `LocalExecutor`; the machine is otherwise idle only if you keep it so.
//!
//! Run with `cargo bench -p benches --bench timer_lateness`. Without `--bench` (as under
//! `cargo test --benches`) it takes only a few samples, to check that it runs. A filter
//! argument that is not a substring of `timer_lateness` skips it, as criterion would.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

/// Sleeps per runtime and duration in a real run.
const SAMPLES: usize = 2_000;
/// Sleeps per runtime and duration when only checking that the binary runs.
const TEST_SAMPLES: usize = 10;
/// The durations asked for.
const DURATIONS: [Duration; 2] = [Duration::from_micros(500), Duration::from_millis(1)];

/// Sleeps `samples` times for `duration` and returns each sleep's lateness in ns.
async fn lateness<S: Future<Output = ()>>(
    samples: usize,
    duration: Duration,
    sleep: impl Fn(Duration) -> S,
) -> Vec<i128> {
    let mut late = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        sleep(duration).await;
        late.push(start.elapsed().as_nanos() as i128 - duration.as_nanos() as i128);
    }
    late
}

async fn smol_sleep(duration: Duration) {
    smol::Timer::after(duration).await;
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn quantile(sorted: &[i128], q: f64) -> i128 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(ns: i128) -> String {
    format!("{:.1}", ns as f64 / 1_000.0)
}

fn print_row(duration: Duration, name: &str, mut late: Vec<i128>) {
    late.sort_unstable();
    println!(
        "| {:>8?} | {:<7} | {:>7} | {:>11} | {:>8} | {:>8} | {:>8} | {:>8} |",
        duration,
        name,
        late.len(),
        micros(quantile(&late, 0.5)),
        micros(quantile(&late, 0.9)),
        micros(quantile(&late, 0.99)),
        micros(late[late.len() - 1]),
        micros(late[0]),
    );
}

/// Whether the command line asks for this binary: criterion's filter is the first
/// argument that is neither a flag nor a number (a flag's value).
fn selected(args: &[String]) -> bool {
    let mut filters = args
        .iter()
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err());
    filters
        .next()
        .is_none_or(|f| "timer_lateness".contains(f.as_str()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("timer_lateness: benchmark");
        return;
    }
    if !selected(&args) {
        return;
    }
    let samples = if args.iter().any(|a| a == "--bench") {
        SAMPLES
    } else {
        TEST_SAMPLES
    };

    let ours = common::ours();
    let tokio = common::tokio();
    let smol = smol::LocalExecutor::new();

    println!("timer_lateness: actual sleep minus requested, in µs ({samples} sleeps each)");
    println!();
    println!(
        "| sleep    | runtime | samples | median (µs) | p90 (µs) | p99 (µs) | max (µs) | min (µs) |"
    );
    println!(
        "|---------:|:--------|--------:|------------:|---------:|---------:|---------:|---------:|"
    );
    for duration in DURATIONS {
        let late = ours.block_on(lateness(samples, duration, runtime::time::sleep));
        print_row(duration, "runtime", late);
        let late = tokio.block_on(lateness(samples, duration, tokio::time::sleep));
        print_row(duration, "tokio", late);
        let late = smol::block_on(smol.run(lateness(samples, duration, smol_sleep)));
        print_row(duration, "smol", late);
    }
}
