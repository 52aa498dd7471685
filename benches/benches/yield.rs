//! `yield`: the cost of `yield_now`, through the scheduler's run queue.
//!
//! - `yield/one_task/*`: one spawned task does 1,000 `yield_now().await`.
//! - `yield/ping_pong/*`: two tasks take 1,000 turns between them, handing over with
//!   `yield_now` (each waits for its turn by yielding).
//!
//! `*` is `runtime`, `tokio`, `smol` for the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`; the body runs inside `block_on`), and the
//! same with `-mt` for the multi-thread ones with 2 workers (ours, tokio's `multi_thread`,
//! smol's `Executor` on 2 threads; the body runs in a task on a worker).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Spawner;
use common::spawner::{Ours, Smol, SmolLocal, Tokio};
use criterion::async_executor::AsyncExecutor;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};

/// Yields per iteration of `one_task`; turns (both tasks together) per `ping_pong`.
const YIELDS: usize = 1_000;

/// Yields `YIELDS` times.
async fn yielder<S: Spawner>(spawner: S) {
    for _ in 0..YIELDS {
        spawner.yield_now().await;
    }
}

/// Takes every other turn (`me` is 0 or 1) until `YIELDS` turns are taken between both
/// players, yielding while it is not its turn and after each turn.
async fn player<S: Spawner>(spawner: S, turn: Arc<AtomicUsize>, me: usize) {
    loop {
        let now = turn.load(Ordering::Relaxed);
        if now >= YIELDS {
            return;
        }
        if now % 2 == me {
            turn.store(now + 1, Ordering::Relaxed);
        }
        spawner.yield_now().await;
    }
}

/// One iteration of `one_task`.
async fn one_task<S: Spawner>(spawner: S) {
    spawner.spawn(yielder(spawner)).await;
}

/// One iteration of `ping_pong`.
async fn ping_pong<S: Spawner>(spawner: S) {
    let turn = Arc::new(AtomicUsize::new(0));
    let a = spawner.spawn(player(spawner, turn.clone(), 0));
    let b = spawner.spawn(player(spawner, turn, 1));
    a.await;
    b.await;
}

/// The multi-thread rows of `name`: both bodies in a task on a worker of `rt`.
fn multi_thread<S: Spawner>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    rt: impl AsyncExecutor + Copy,
    spawner: S,
) {
    let id = |body| format!("{body}/{name}");
    common::bench_in_task(group, id("one_task"), rt, spawner, move || {
        one_task(spawner)
    });
    common::bench_in_task(group, id("ping_pong"), rt, spawner, move || {
        ping_pong(spawner)
    });
}

fn yield_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield");
    group.throughput(Throughput::Elements(YIELDS as u64));

    {
        let rt = common::ours();
        group.bench_function(BenchmarkId::new("one_task", "runtime"), |b| {
            b.to_async(&rt).iter(|| one_task(Ours))
        });
        group.bench_function(BenchmarkId::new("ping_pong", "runtime"), |b| {
            b.to_async(&rt).iter(|| ping_pong(Ours))
        });
    }
    {
        let rt = common::tokio();
        group.bench_function(BenchmarkId::new("one_task", "tokio"), |b| {
            b.to_async(common::Tokio(&rt)).iter(|| one_task(Tokio))
        });
        group.bench_function(BenchmarkId::new("ping_pong", "tokio"), |b| {
            b.to_async(common::Tokio(&rt)).iter(|| ping_pong(Tokio))
        });
    }
    group.bench_function(BenchmarkId::new("one_task", "smol"), |b| {
        b.to_async(SmolLocal).iter(|| one_task(SmolLocal))
    });
    group.bench_function(BenchmarkId::new("ping_pong", "smol"), |b| {
        b.to_async(SmolLocal).iter(|| ping_pong(SmolLocal))
    });

    multi_thread(&mut group, "runtime-mt", &common::ours_multi(), Ours);
    multi_thread(
        &mut group,
        "tokio-mt",
        common::Tokio(&common::tokio_multi()),
        Tokio,
    );
    {
        let _threads = common::smol_threads();
        multi_thread(&mut group, "smol-mt", Smol, Smol);
    }

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    yield_benches(&mut c);
    c.final_summary();
}
