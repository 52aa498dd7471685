//! What the bench binaries share: the six runtimes (ours, tokio and smol, each
//! current-thread and multi-thread), each built the same way every time, and the few
//! helpers that must be written once so every runtime runs the same code.
#![allow(
    dead_code,
    reason = "each bench binary uses its own part of this module"
)]

pub mod spawner;

use std::future::{Future, poll_fn};
use std::hint::black_box;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::async_executor::AsyncExecutor;
use criterion::measurement::WallTime;

pub use spawner::Spawner;

/// Worker threads of every multi-thread column: the machine the targets are set on has 2
/// cores.
pub const WORKERS: usize = 2;

/// Ours, current-thread flavor.
pub fn ours() -> runtime::Runtime {
    runtime::Builder::new_current_thread()
        .build()
        .expect("build the current-thread runtime")
}

/// Ours, multi-thread flavor with [`WORKERS`] workers.
pub fn ours_multi() -> runtime::Runtime {
    runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .expect("build the multi-thread runtime")
}

/// tokio's current-thread runtime with I/O and timers.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build tokio's current-thread runtime")
}

/// tokio's multi-thread runtime with [`WORKERS`] workers, I/O and timers.
pub fn tokio_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("build tokio's multi-thread runtime")
}

/// tokio's runtime for criterion: `b.to_async(Tokio(&rt))`. Criterion's own impl needs its
/// `async_tokio` feature, which would make criterion depend on tokio, and so compile tokio
/// in every `cargo test --workspace` (the workspace turns on `runtime/criterion` there).
#[derive(Clone, Copy)]
pub struct Tokio<'a>(pub &'a tokio::runtime::Runtime);

impl AsyncExecutor for Tokio<'_> {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.block_on(future)
    }
}

/// smol's multi-thread setup, alive while this is: [`WORKERS`] threads each running
/// `smol::block_on(ex.run(..))` on the executor of [`spawner::Smol`]. Each also drives
/// async-io's reactor while it has nothing to run. Dropping it stops and joins them.
#[derive(Debug)]
pub struct SmolThreads {
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

/// Starts smol's executor threads; see [`SmolThreads`].
pub fn smol_threads() -> SmolThreads {
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let threads = (0..WORKERS)
        .map(|i| {
            let stopped = stopped.clone();
            thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || {
                    // `recv` fails once the sender is dropped: that is the signal.
                    let _ = smol::block_on(spawner::SHARED.run(stopped.recv()));
                })
                .expect("start a smol thread")
        })
        .collect();
    SmolThreads {
        stop: Some(stop),
        threads,
    }
}

impl Drop for SmolThreads {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            thread.join().expect("a smol thread panicked");
        }
    }
}

/// For `iter_custom`: one task, spawned with `spawner`, runs `body` `iters` times and
/// returns how long that took. On a multi-thread runtime the measured code so runs on a
/// worker, as a server's tasks do, and the bench thread only waits for the result.
pub async fn timed_task<S, F, Fut>(spawner: S, iters: u64, body: F) -> Duration
where
    S: Spawner,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future + Send,
{
    spawner
        .spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(body().await);
            }
            start.elapsed()
        })
        .await
}

/// One row of `group`: `body` run by [`timed_task`] with `spawner`, the bench thread
/// waiting through `rt` (the runtime `spawner` spawns on, or the smol spawner itself).
pub fn bench_in_task<S, F, Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: impl Into<String>,
    rt: impl AsyncExecutor + Copy,
    spawner: S,
    body: F,
) where
    S: Spawner,
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future + Send,
{
    group.bench_function(id.into(), |b| {
        b.to_async(rt)
            .iter_custom(|iters| timed_task(spawner, iters, body.clone()))
    });
}

/// One iteration of a bench, written once for every runtime: a future made with the
/// column's [`Spawner`].
pub trait Workload: Copy + Send + 'static {
    /// The future of one iteration, spawning through `spawner`.
    fn iteration<S: Spawner>(self, spawner: S) -> impl Future<Output = ()> + Send + 'static;
}

/// The six columns of a group, in order: ours, tokio and smol on one thread
/// (`runtime`, `tokio`, `smol`), then on [`WORKERS`] threads (`runtime-mt`, `tokio-mt`,
/// `smol-mt`). Every iteration runs inside a task of the column's runtime.
pub fn six_columns(group: &mut BenchmarkGroup<'_, WallTime>, workload: impl Workload) {
    use spawner::{Ours, Smol, SmolLocal, Tokio as TokioSpawner};
    bench_in_task(group, "runtime", &ours(), Ours, move || {
        workload.iteration(Ours)
    });
    let tokio = tokio();
    bench_in_task(group, "tokio", Tokio(&tokio), TokioSpawner, move || {
        workload.iteration(TokioSpawner)
    });
    bench_in_task(group, "smol", SmolLocal, SmolLocal, move || {
        workload.iteration(SmolLocal)
    });
    bench_in_task(group, "runtime-mt", &ours_multi(), Ours, move || {
        workload.iteration(Ours)
    });
    let tokio = tokio_multi();
    bench_in_task(group, "tokio-mt", Tokio(&tokio), TokioSpawner, move || {
        workload.iteration(TokioSpawner)
    });
    let smol_threads = smol_threads();
    bench_in_task(group, "smol-mt", Smol, Smol, move || {
        workload.iteration(Smol)
    });
    drop(smol_threads);
}

/// Polls `future` exactly once, expecting `Pending`, then drops it: the full life of a
/// timer that is registered and cancelled.
pub async fn poll_once_pending<F: Future>(future: F) {
    let mut future = pin!(future);
    poll_fn(|cx| {
        assert!(
            future.as_mut().poll(cx).is_pending(),
            "the future must wait"
        );
        Poll::Ready(())
    })
    .await;
}

/// smol has no `timeout`: this is the usual spelling, a timer raced against the future.
/// The timer is created up front, as `tokio::time::timeout` and ours create their sleep.
pub fn smol_timeout<F: Future>(
    duration: std::time::Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, ()>> {
    let timer = smol::Timer::after(duration);
    smol::future::or(async move { Ok(future.await) }, async move {
        timer.await;
        Err(())
    })
}
