//! `ping_pong`: 10,000 round trips between two tasks through a pair of channels.
//!
//! A task sends a number on one `async_channel::bounded(1)` and waits for it to come back
//! on another; a second task, spawned for the iteration, echoes every number. The channel
//! is runtime-agnostic, so all columns wake through the same code and differ only in
//! their scheduler.
//!
//! `ping_pong/{runtime,tokio,smol}` are the current-thread runtimes (ours, tokio's
//! `current_thread`, smol's `LocalExecutor`), `ping_pong/*-mt` the multi-thread ones with 2
//! workers (ours, tokio's `multi_thread`, smol's `Executor` on 2 threads). In every column
//! the pinging side runs in a task (`common::timed_task`), so both ends are tasks.

mod common;

use std::future::Future;

use common::{Spawner, Workload};
use criterion::{Criterion, SamplingMode, Throughput};

/// Round trips per iteration.
const ROUND_TRIPS: u64 = 10_000;

/// One iteration: `ROUND_TRIPS` numbers there and back.
async fn ping_pong<S: Spawner>(spawner: S) {
    let (ping_tx, ping_rx) = async_channel::bounded(1);
    let (pong_tx, pong_rx) = async_channel::bounded(1);
    let ponger = spawner.spawn(async move {
        while let Ok(n) = ping_rx.recv().await {
            pong_tx.send(n).await.expect("the pinger waits");
        }
    });
    for n in 0..ROUND_TRIPS {
        ping_tx.send(n).await.expect("the ponger waits");
        assert_eq!(pong_rx.recv().await, Ok(n));
    }
    drop(ping_tx);
    ponger.await;
}

/// The ping-pong iteration for every column.
#[derive(Clone, Copy)]
struct PingPong;

impl Workload for PingPong {
    fn iteration<S: Spawner>(self, spawner: S) -> impl Future<Output = ()> + Send + 'static {
        ping_pong(spawner)
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong");
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    // An iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    common::six_columns(&mut group, PingPong);
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
