//! `yield_many`: 200 tasks, each doing 1,000 `yield_now().await`, all at once.
//!
//! The iteration spawns the tasks and awaits each. With 200 runnable tasks the run queue
//! is never empty, so this is the scheduler's steady state under load, and on a
//! multi-thread runtime both workers have work. Throughput counts yields (200,000).
//!
//! `yield_many/{runtime,tokio,smol}` are the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`), `yield_many/*-mt` the multi-thread ones with
//! 2 workers (ours, tokio's `multi_thread`, smol's `Executor` on 2 threads). In every
//! column the tasks are spawned from a task (`common::timed_task`).

mod common;

use std::future::Future;

use common::{Spawner, Workload};
use criterion::{Criterion, SamplingMode, Throughput};

/// Tasks per iteration.
const TASKS: usize = 200;
/// Yields per task.
const YIELDS: usize = 1_000;

/// One iteration: `TASKS` tasks yield `YIELDS` times each.
async fn yield_many<S: Spawner>(spawner: S) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            spawner.spawn(async move {
                for _ in 0..YIELDS {
                    spawner.yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
}

/// The yield-many iteration for every column.
#[derive(Clone, Copy)]
struct YieldMany;

impl Workload for YieldMany {
    fn iteration<S: Spawner>(self, spawner: S) -> impl Future<Output = ()> + Send + 'static {
        yield_many(spawner)
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_many");
    group.throughput(Throughput::Elements((TASKS * YIELDS) as u64));
    // An iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    common::six_columns(&mut group, YieldMany);
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
