//! `spawn_many`: 10,000 detached tasks spawned at once, each counting itself done.
//!
//! Each task decrements a shared counter; the one that takes it to zero signals the end
//! through an `async_channel`, which the iteration awaits. Unlike `spawn`, nothing joins
//! a task, and the run queue holds thousands of tasks at once (past the local queue of a
//! multi-thread worker), so there is work for the other worker to steal.
//!
//! `spawn_many/{runtime,tokio,smol}` are the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`), `spawn_many/*-mt` the multi-thread ones with
//! 2 workers (ours, tokio's `multi_thread`, smol's `Executor` on 2 threads). In every
//! column the tasks are spawned from a task (`common::timed_task`).

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Spawner, Workload};
use criterion::{Criterion, SamplingMode, Throughput};

/// Tasks per iteration.
const TASKS: usize = 10_000;

/// What the tasks of one iteration share.
struct Countdown {
    left: AtomicUsize,
    done: async_channel::Sender<()>,
}

/// One iteration: spawn `TASKS` tasks, wait until all have run.
async fn spawn_many<S: Spawner>(spawner: S) {
    let (done, ended) = async_channel::bounded(1);
    let countdown = Arc::new(Countdown {
        left: AtomicUsize::new(TASKS),
        done,
    });
    for _ in 0..TASKS {
        let countdown = countdown.clone();
        spawner.spawn_detached(async move {
            if countdown.left.fetch_sub(1, Ordering::Relaxed) == 1 {
                countdown.done.try_send(()).expect("the iteration waits");
            }
        });
    }
    ended.recv().await.expect("every task runs");
}

/// The spawn-many iteration for every column.
#[derive(Clone, Copy)]
struct SpawnMany;

impl Workload for SpawnMany {
    fn iteration<S: Spawner>(self, spawner: S) -> impl Future<Output = ()> + Send + 'static {
        spawn_many(spawner)
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many");
    group.throughput(Throughput::Elements(TASKS as u64));
    // An iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    common::six_columns(&mut group, SpawnMany);
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
