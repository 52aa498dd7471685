//! `timer`: what a timer that never fires costs, the common case of a timeout.
//!
//! - `timer/timeout_ready/*`: `timeout(1 s, ready(()))` created, awaited (the future wins
//!   on the first poll, so the sleep is never registered) and dropped.
//! - `timer/timeout_cancel/*`: `timeout(1 s, pending())` created, polled once (the sleep
//!   is registered with the timer driver) and dropped (it is cancelled).
//!
//! `*` is `runtime`, `tokio`, `smol` for the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`; the timer is made inside `block_on`), and the
//! same with `-mt` for the multi-thread ones with 2 workers (ours, tokio's `multi_thread`,
//! smol's `Executor` on 2 threads; the timer is made in a task on a worker, where a
//! server's timeouts are made).
//!
//! The lateness of timers that do fire is measured by the `timer_lateness` binary.

mod common;

use std::future::{pending, ready};
use std::hint::black_box;
use std::time::Duration;

use common::spawner::{Ours, Smol, SmolLocal, Tokio};
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
    drop(rt);

    let rt = common::tokio();
    group.bench_function(BenchmarkId::new("timeout_ready", "tokio"), |b| {
        b.to_async(common::Tokio(&rt))
            .iter(|| async { black_box(tokio::time::timeout(TIMEOUT, ready(1)).await) })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "tokio"), |b| {
        b.to_async(common::Tokio(&rt))
            .iter(|| common::poll_once_pending(tokio::time::timeout(TIMEOUT, pending::<()>())))
    });
    drop(rt);

    group.bench_function(BenchmarkId::new("timeout_ready", "smol"), |b| {
        b.to_async(SmolLocal)
            .iter(|| async { black_box(common::smol_timeout(TIMEOUT, ready(1)).await) })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "smol"), |b| {
        b.to_async(SmolLocal)
            .iter(|| common::poll_once_pending(common::smol_timeout(TIMEOUT, pending::<()>())))
    });

    let rt = common::ours_multi();
    group.bench_function(BenchmarkId::new("timeout_ready", "runtime-mt"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            common::timed_task(Ours, iters, || runtime::time::timeout(TIMEOUT, ready(1)))
        })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "runtime-mt"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            common::timed_task(Ours, iters, || {
                common::poll_once_pending(runtime::time::timeout(TIMEOUT, pending::<()>()))
            })
        })
    });
    drop(rt);

    let rt = common::tokio_multi();
    group.bench_function(BenchmarkId::new("timeout_ready", "tokio-mt"), |b| {
        b.to_async(common::Tokio(&rt)).iter_custom(|iters| {
            common::timed_task(Tokio, iters, || tokio::time::timeout(TIMEOUT, ready(1)))
        })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "tokio-mt"), |b| {
        b.to_async(common::Tokio(&rt)).iter_custom(|iters| {
            common::timed_task(Tokio, iters, || {
                common::poll_once_pending(tokio::time::timeout(TIMEOUT, pending::<()>()))
            })
        })
    });
    drop(rt);

    let threads = common::smol_threads();
    group.bench_function(BenchmarkId::new("timeout_ready", "smol-mt"), |b| {
        b.to_async(Smol).iter_custom(|iters| {
            common::timed_task(Smol, iters, || common::smol_timeout(TIMEOUT, ready(1)))
        })
    });
    group.bench_function(BenchmarkId::new("timeout_cancel", "smol-mt"), |b| {
        b.to_async(Smol).iter_custom(|iters| {
            common::timed_task(Smol, iters, || {
                common::poll_once_pending(common::smol_timeout(TIMEOUT, pending::<()>()))
            })
        })
    });
    drop(threads);

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    timer(&mut c);
    c.final_summary();
}
