//! `chained_spawn`: a chain of 1,000 tasks, each spawning the next and ending.
//!
//! The tasks are detached; the last one signals the end through an `async_channel`,
//! which the iteration awaits. Only one task of the chain is ever queued, so this is the
//! cost of spawning and running one task at a time, with no parallelism to gain.
//!
//! `chained_spawn/{runtime,tokio,smol}` are the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`), `chained_spawn/*-mt` the multi-thread ones
//! with 2 workers (ours, tokio's `multi_thread`, smol's `Executor` on 2 threads). In every
//! column the chain starts from a task (`common::timed_task`).

mod common;

use std::future::Future;

use common::{Spawner, Workload};
use criterion::{Criterion, SamplingMode, Throughput};

/// Tasks in the chain.
const DEPTH: usize = 1_000;

/// Spawns the rest of the chain, `depth` tasks; the last one sends on `done`.
fn chain<S: Spawner>(spawner: S, depth: usize, done: async_channel::Sender<()>) {
    if depth == 0 {
        done.try_send(()).expect("the iteration waits");
    } else {
        spawner.spawn_detached(async move { chain(spawner, depth - 1, done) });
    }
}

/// One iteration: a chain of `DEPTH` tasks, and the wait for its end.
async fn chained_spawn<S: Spawner>(spawner: S) {
    let (done, ended) = async_channel::bounded(1);
    chain(spawner, DEPTH, done);
    ended.recv().await.expect("the chain ends");
}

/// The chained-spawn iteration for every column.
#[derive(Clone, Copy)]
struct ChainedSpawn;

impl Workload for ChainedSpawn {
    fn iteration<S: Spawner>(self, spawner: S) -> impl Future<Output = ()> + Send + 'static {
        chained_spawn(spawner)
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("chained_spawn");
    group.throughput(Throughput::Elements(DEPTH as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    common::six_columns(&mut group, ChainedSpawn);
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
