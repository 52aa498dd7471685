//! `spawn`: spawn 1,000 trivial tasks and await every `JoinHandle`.
//!
//! One criterion group, so the ratios come from one run:
//! - `spawn/{runtime,tokio,smol}`: current-thread (ours, tokio's `current_thread`, smol's
//!   `LocalExecutor`); the body runs inside `block_on`.
//! - `spawn/{runtime,tokio,smol}-mt`: multi-thread with 2 workers (ours, tokio's
//!   `multi_thread`, smol's `Executor` on 2 threads); the body runs in a task on a worker
//!   (`common::timed_task`), so it spawns from a worker, as a server's tasks do.

mod common;

use std::hint::black_box;

use common::Spawner;
use common::spawner::{Ours, Smol, SmolLocal, Tokio};
use criterion::{Criterion, Throughput};

/// Tasks per iteration.
const TASKS: usize = 1_000;

/// Spawns `TASKS` tasks, then awaits each.
async fn spawn_join<S: Spawner>(spawner: S) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| spawner.spawn(async move { black_box(i) }))
        .collect();
    for task in tasks {
        black_box(task.await);
    }
}

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn");
    group.throughput(Throughput::Elements(TASKS as u64));

    {
        let rt = common::ours();
        group.bench_function("runtime", |b| b.to_async(&rt).iter(|| spawn_join(Ours)));
    }
    {
        let rt = common::tokio();
        group.bench_function("tokio", |b| {
            b.to_async(common::Tokio(&rt)).iter(|| spawn_join(Tokio))
        });
    }
    group.bench_function("smol", |b| {
        b.to_async(SmolLocal).iter(|| spawn_join(SmolLocal))
    });

    {
        let rt = common::ours_multi();
        group.bench_function("runtime-mt", |b| {
            b.to_async(&rt)
                .iter_custom(|iters| common::timed_task(Ours, iters, || spawn_join(Ours)))
        });
    }
    {
        let rt = common::tokio_multi();
        group.bench_function("tokio-mt", |b| {
            b.to_async(common::Tokio(&rt))
                .iter_custom(|iters| common::timed_task(Tokio, iters, || spawn_join(Tokio)))
        });
    }
    {
        let _threads = common::smol_threads();
        group.bench_function("smol-mt", |b| {
            b.to_async(Smol)
                .iter_custom(|iters| common::timed_task(Smol, iters, || spawn_join(Smol)))
        });
    }

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    spawn(&mut c);
    c.final_summary();
}
