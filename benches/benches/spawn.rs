//! `spawn`: spawn 1,000 trivial tasks and await every `JoinHandle`, inside `block_on`.
//!
//! One criterion group, `spawn/{runtime,tokio,smol}`, so the ratios come from one run.
//! Each runtime is current-thread: ours, tokio's `current_thread`, smol's `LocalExecutor`.

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};

/// Tasks per iteration.
const TASKS: usize = 1_000;

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn");
    group.throughput(Throughput::Elements(TASKS as u64));

    let rt = common::ours();
    group.bench_function("runtime", |b| {
        b.to_async(&rt).iter(|| async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| runtime::spawn(async move { black_box(i) }))
                .collect();
            for handle in handles {
                black_box(handle.await.unwrap());
            }
        })
    });

    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.to_async(common::Tokio(&rt)).iter(|| async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| tokio::spawn(async move { black_box(i) }))
                .collect();
            for handle in handles {
                black_box(handle.await.unwrap());
            }
        })
    });

    let ex = &smol::LocalExecutor::new();
    group.bench_function("smol", |b| {
        b.to_async(common::Smol(ex)).iter(|| async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| ex.spawn(async move { black_box(i) }))
                .collect();
            for task in tasks {
                black_box(task.await);
            }
        })
    });

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    spawn(&mut c);
    c.final_summary();
}
