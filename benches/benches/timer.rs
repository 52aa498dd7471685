//! `timer`: what a timer that never fires costs, the common case of a timeout.
//!
//! - `timer/timeout_ready/*`: `timeout(1 s, ready(()))` created, awaited (the future wins
//!   on the first poll, so the sleep is never registered) and dropped.
//! - `timer/timeout_cancel/*`: `timeout(1 s, pending())` created, polled once (the sleep
//!   is registered with the timer driver) and dropped (it is cancelled).
//!
//! The lateness of timers that do fire is measured by the `timer_lateness` binary.
//! Each runtime is current-thread: ours, tokio's `current_thread`, smol's `LocalExecutor`.

mod common;

use std::future::{pending, ready};
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};

/// Far enough never to fire during a benchmark.
const TIMEOUT: Duration = Duration::from_secs(1);

fn timer(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer");

    let rt = common::ours();
    group.bench_function(BenchmarkId::new("timeout_ready", "runtime"), |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(runtime::time::timeout(TIMEOUT, ready(1)).await) })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "runtime"), |b| {
        b.to_async(&rt)
            .iter(|| common::poll_once_pending(runtime::time::timeout(TIMEOUT, pending::<()>())))
    });

    let rt = common::tokio();
    group.bench_function(BenchmarkId::new("timeout_ready", "tokio"), |b| {
        b.to_async(common::Tokio(&rt))
            .iter(|| async { black_box(tokio::time::timeout(TIMEOUT, ready(1)).await) })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "tokio"), |b| {
        b.to_async(common::Tokio(&rt))
            .iter(|| common::poll_once_pending(tokio::time::timeout(TIMEOUT, pending::<()>())))
    });

    let ex = &smol::LocalExecutor::new();
    group.bench_function(BenchmarkId::new("timeout_ready", "smol"), |b| {
        b.to_async(common::Smol(ex))
            .iter(|| async { black_box(common::smol_timeout(TIMEOUT, ready(1)).await) })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "smol"), |b| {
        b.to_async(common::Smol(ex))
            .iter(|| common::poll_once_pending(common::smol_timeout(TIMEOUT, pending::<()>())))
    });

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    timer(&mut c);
    c.final_summary();
}
