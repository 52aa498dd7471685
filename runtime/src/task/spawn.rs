//! The free functions that spawn onto the current runtime.

use std::future::Future;

use super::{JoinHandle, boxes};
use crate::context;

/// Spawns a task onto the current runtime and returns its [`JoinHandle`]. The task starts
/// running in the background; dropping the handle detaches it.
///
/// # Panics
///
/// Outside a runtime, with a message saying how to fix it: call it from inside
/// `Runtime::block_on`, a task, `#[runtime::main]`, or after `Handle::enter()` (or spawn
/// through a `Handle` you kept).
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let task = runtime::spawn(async { 6 * 7 });
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // A large future goes to the heap here, before it is moved again.
    if const { boxes::<F>() } {
        spawn_inner(Box::pin(future))
    } else {
        spawn_inner(future)
    }
}

#[track_caller]
fn spawn_inner<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::current("runtime::spawn").spawn(future, None)
}

/// Spawns a `!Send` future onto the [`LocalRuntime`](crate::LocalRuntime) this code runs
/// in, with no `LocalSet` ceremony. The task only ever runs on this thread.
///
/// One rule on every flavor: it works on a `LocalRuntime` (which
/// `#[runtime::main(flavor = "current_thread")]` and `#[runtime::test]` build), on its
/// thread. Anywhere else it panics with a message naming the alternative: on a `Send`
/// runtime (current-thread `Runtime` or multi-thread) a !Send task could end up on another
/// thread, so it is refused rather than silently cancelled.
///
/// # Panics
///
/// Outside a `LocalRuntime`, or on a thread other than its own.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // A large future goes to the heap here, before it is moved again.
    if const { boxes::<F>() } {
        spawn_local_inner(Box::pin(future))
    } else {
        spawn_local_inner(future)
    }
}

#[track_caller]
fn spawn_local_inner<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::current("runtime::task::spawn_local").spawn_local(future, None)
}

/// Runs a blocking function on the runtime's blocking pool and returns a handle to its
/// result. Threads are started on demand (up to `max_blocking_threads`) and exit after
/// 10 s idle. A panic in `f` becomes a `JoinError` with `is_panic()`. If no thread can be
/// started, the handle resolves to an error saying why (`is_cancelled()`).
///
/// # Panics
///
/// Outside a runtime, with a message saying how to fix it.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let len = runtime::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count())).await;
/// assert!(len.unwrap().is_ok());
/// # });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    context::current("runtime::spawn_blocking").spawn_blocking(f, None)
}
