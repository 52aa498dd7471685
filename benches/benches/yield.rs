//! `yield`: the cost of `yield_now`, through the scheduler's run queue.
//!
//! - `yield/one_task/*`: one spawned task does 1,000 `yield_now().await`.
//! - `yield/ping_pong/*`: two tasks take 1,000 turns between them, handing over with
//!   `yield_now` (each waits for its turn by yielding).
//!
//! Each runtime is current-thread: ours, tokio's `current_thread`, smol's `LocalExecutor`.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput};

/// Yields per iteration of `one_task`; turns (both tasks together) per `ping_pong`.
const YIELDS: usize = 1_000;

/// Yields `YIELDS` times.
async fn yielder<Y: Future<Output = ()>>(yield_now: impl Fn() -> Y) {
    for _ in 0..YIELDS {
        yield_now().await;
    }
}

/// Takes every other turn (`me` is 0 or 1) until `YIELDS` turns are taken between both
/// players, yielding while it is not its turn and after each turn.
async fn player<Y: Future<Output = ()>>(
    turn: Arc<AtomicUsize>,
    me: usize,
    yield_now: impl Fn() -> Y,
) {
    loop {
        let now = turn.load(Ordering::Relaxed);
        if now >= YIELDS {
            return;
        }
        if now % 2 == me {
            turn.store(now + 1, Ordering::Relaxed);
        }
        yield_now().await;
    }
}

fn yield_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield");
    group.throughput(Throughput::Elements(YIELDS as u64));

    let rt = common::ours();
    let yield_now = runtime::task::yield_now;
    group.bench_function(BenchmarkId::new("one_task", "runtime"), |b| {
        b.to_async(&rt)
            .iter(|| async { runtime::spawn(yielder(yield_now)).await.unwrap() })
    });
    group.bench_function(BenchmarkId::new("ping_pong", "runtime"), |b| {
        b.to_async(&rt).iter(|| async {
            let turn = Arc::new(AtomicUsize::new(0));
            let a = runtime::spawn(player(turn.clone(), 0, yield_now));
            let b = runtime::spawn(player(turn, 1, yield_now));
            a.await.unwrap();
            b.await.unwrap();
        })
    });

    let rt = common::tokio();
    let yield_now = tokio::task::yield_now;
    group.bench_function(BenchmarkId::new("one_task", "tokio"), |b| {
        b.to_async(common::Tokio(&rt))
            .iter(|| async { tokio::spawn(yielder(yield_now)).await.unwrap() })
    });
    group.bench_function(BenchmarkId::new("ping_pong", "tokio"), |b| {
        b.to_async(common::Tokio(&rt)).iter(|| async {
            let turn = Arc::new(AtomicUsize::new(0));
            let a = tokio::spawn(player(turn.clone(), 0, yield_now));
            let b = tokio::spawn(player(turn, 1, yield_now));
            a.await.unwrap();
            b.await.unwrap();
        })
    });

    let ex = &smol::LocalExecutor::new();
    let yield_now = smol::future::yield_now;
    group.bench_function(BenchmarkId::new("one_task", "smol"), |b| {
        b.to_async(common::Smol(ex))
            .iter(|| async { ex.spawn(yielder(yield_now)).await })
    });
    group.bench_function(BenchmarkId::new("ping_pong", "smol"), |b| {
        b.to_async(common::Smol(ex)).iter(|| async {
            let turn = Arc::new(AtomicUsize::new(0));
            let a = ex.spawn(player(turn.clone(), 0, yield_now));
            let b = ex.spawn(player(turn, 1, yield_now));
            a.await;
            b.await;
        })
    });

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    yield_benches(&mut c);
    c.final_summary();
}
