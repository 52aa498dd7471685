//! One way to spawn for every column, so a bench body is written once and runs on all six:
//! ours, tokio and smol, each current-thread and multi-thread.
//!
//! A spawner is a zero-sized handle to where tasks go: `Ours` and `Tokio` call the
//! runtime's free `spawn`, which finds the runtime (either flavor) the caller runs on;
//! `SmolLocal` is this thread's `LocalExecutor`, `Smol` the `Executor` shared by the
//! threads of [`super::SmolThreads`]. The smol two are also criterion executors.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use criterion::async_executor::AsyncExecutor;
use smol::{Executor, LocalExecutor};

/// Spawns tasks on one runtime. `Copy + Send`, so a task can carry it and spawn more.
pub trait Spawner: Copy + Send + Sync + 'static {
    /// What [`spawn`](Spawner::spawn) returns: resolves to the task's output.
    type Task<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Spawns `future`; awaiting the result yields its output (and panics if it did).
    fn spawn<F>(self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` and lets it run on its own. smol cancels a dropped task, the other
    /// two detach it, so this is a method of its own.
    fn spawn_detached<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's own `yield_now`.
    fn yield_now(self) -> impl Future<Output = ()> + Send;
}

/// A `JoinHandle` that unwraps its `Result`, so every spawner's task yields a plain `T`.
#[derive(Debug)]
pub struct Joined<J>(J);

impl<J, T, E> Future for Joined<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| joined.expect("the task panicked"))
    }
}

/// Ours: `runtime::spawn`.
#[derive(Clone, Copy, Debug)]
pub struct Ours;

impl Spawner for Ours {
    type Task<T: Send + 'static> = Joined<runtime::task::JoinHandle<T>>;

    fn spawn<F>(self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined(runtime::spawn(future))
    }

    fn spawn_detached<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(runtime::spawn(future));
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        runtime::task::yield_now()
    }
}

/// tokio: `tokio::spawn`.
#[derive(Clone, Copy, Debug)]
pub struct Tokio;

impl Spawner for Tokio {
    type Task<T: Send + 'static> = Joined<tokio::task::JoinHandle<T>>;

    fn spawn<F>(self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined(tokio::spawn(future))
    }

    fn spawn_detached<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(future));
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

thread_local! {
    /// smol's single-threaded executor, one per thread: a `&LocalExecutor` is not `Send`,
    /// so a task that spawns more reaches it through this instead.
    static LOCAL: LocalExecutor<'static> = const { LocalExecutor::new() };
}

/// The same executor for every multi-thread smol column; [`super::SmolThreads`] runs it.
pub(super) static SHARED: Executor<'static> = Executor::new();

/// smol current-thread: this thread's `LocalExecutor`, run by `b.to_async(SmolLocal)`.
///
/// `smol::block_on` drives async-io's reactor on this thread while it waits, so timers
/// and sockets are served here, as with the other two current-thread runtimes.
#[derive(Clone, Copy, Debug)]
pub struct SmolLocal;

impl Spawner for SmolLocal {
    type Task<T: Send + 'static> = smol::Task<T>;

    fn spawn<F>(self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        LOCAL.with(|ex| ex.spawn(future))
    }

    fn spawn_detached<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(future).detach();
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
}

impl AsyncExecutor for SmolLocal {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        LOCAL.with(|ex| smol::block_on(ex.run(future)))
    }
}

/// smol multi-thread: the shared `Executor`, run by the threads of a live
/// [`super::SmolThreads`]. As a criterion executor it only waits (`smol::block_on`), as
/// `block_on` of the two other multi-thread runtimes runs on the bench thread.
#[derive(Clone, Copy, Debug)]
pub struct Smol;

impl Spawner for Smol {
    type Task<T: Send + 'static> = smol::Task<T>;

    fn spawn<F>(self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SHARED.spawn(future)
    }

    fn spawn_detached<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(future).detach();
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
}

impl AsyncExecutor for Smol {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        smol::block_on(future)
    }
}
