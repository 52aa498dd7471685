//! What the bench binaries share: the three runtimes, each built the same way every time,
//! and the few helpers that must be written once so every runtime runs the same code.
#![allow(
    dead_code,
    reason = "each bench binary uses its own part of this module"
)]

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use criterion::async_executor::AsyncExecutor;
use smol::LocalExecutor;

/// Ours: the current-thread flavor (the only one there is yet).
pub fn ours() -> runtime::Runtime {
    runtime::Builder::new_current_thread()
        .build()
        .expect("build the current-thread runtime")
}

/// tokio's current-thread runtime with I/O and timers.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build tokio's current-thread runtime")
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

/// smol's single-threaded executor for criterion: `b.to_async(Smol(&ex))`.
///
/// `smol::block_on` drives async-io's reactor on this thread while it waits, so timers
/// and sockets are served here, as with the other two current-thread runtimes.
#[derive(Clone, Copy)]
pub struct Smol<'a>(pub &'a LocalExecutor<'static>);

impl AsyncExecutor for Smol<'_> {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        smol::block_on(self.0.run(future))
    }
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
