//! `task::Builder`: spawning a task with a name, as tokio's `task::Builder` does.

use std::future::Future;
use std::io;
use std::sync::Arc;

use super::{JoinHandle, boxes};
use crate::context;
use crate::handle::Handle;
use crate::scheduler::SchedulerHandle;

/// Spawns a task with options: for now, a name.
///
/// A name shows in [`JoinError`](super::JoinError)'s `Display` and `Debug`, in
/// [`task::name()`](super::name()) inside the task, in
/// [`ShutdownReport::cancelled_names`](crate::ShutdownReport::cancelled_names) and in
/// [`LongPoll::name`](crate::LongPoll::name). It is stored once per task, in the task's
/// cold part: a task without a name pays nothing for it. Any string is a valid name
/// (it never reaches the OS).
///
/// Each `spawn*` returns an `io::Result` where the plain functions would panic.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let task = runtime::task::Builder::new()
///     .name("conn 10.0.0.7")
///     .spawn(async { panic!("bad request") })?;
/// let err = task.await.unwrap_err();
/// assert_eq!(err.name(), Some("conn 10.0.0.7"));
/// assert!(format!("{err:?}").contains("conn 10.0.0.7"));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no name.
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// Names the task.
    pub fn name(&self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns `future` onto the current runtime, like [`spawn`](crate::spawn).
    ///
    /// # Errors
    ///
    /// `ErrorKind::Other` outside a runtime (the error wraps the
    /// [`TryCurrentError`](crate::TryCurrentError) that says how to fix it).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = current_runtime()?;
        Ok(self.spawn_inner(future, &handle))
    }

    /// Spawns `future` onto the runtime of `handle`, like [`Handle::spawn`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` matches tokio's signature.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.spawn_inner(future, &handle.inner))
    }

    /// Spawns a `!Send` future onto the current [`LocalRuntime`](crate::LocalRuntime),
    /// like [`spawn_local`](super::spawn_local).
    ///
    /// # Errors
    ///
    /// `ErrorKind::Other` outside a runtime; `ErrorKind::InvalidInput` where
    /// `spawn_local` would panic: on a runtime that is not a `LocalRuntime`, or on a
    /// thread other than its own.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let handle = current_runtime()?;
        handle
            .check_spawn_local()
            .map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why))?;
        let name = self.owned_name();
        // A large future goes to the heap here, before it is moved again.
        Ok(if const { boxes::<F>() } {
            handle.spawn_local(Box::pin(future), name)
        } else {
            handle.spawn_local(future, name)
        })
    }

    /// Runs `f` on the current runtime's blocking pool, like
    /// [`spawn_blocking`](crate::spawn_blocking); `task::name()` inside `f` is the name.
    ///
    /// # Errors
    ///
    /// `ErrorKind::Other` outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = current_runtime()?;
        Ok(handle.spawn_blocking(f, self.owned_name()))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime, like [`Handle::spawn_blocking`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` matches tokio's signature.
    #[track_caller]
    pub fn spawn_blocking_on<F, R>(self, f: F, handle: &Handle) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Ok(handle.inner.spawn_blocking(f, self.owned_name()))
    }

    fn spawn_inner<F>(self, future: F, handle: &SchedulerHandle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let name = self.owned_name();
        // A large future goes to the heap here, before it is moved again.
        if const { boxes::<F>() } {
            handle.spawn(Box::pin(future), name)
        } else {
            handle.spawn(future, name)
        }
    }

    /// The name as the task stores it: one allocation, only for a named task.
    fn owned_name(self) -> Option<Arc<str>> {
        self.name.map(Arc::from)
    }
}

/// The current runtime, or an `io::Error` saying there is none.
fn current_runtime() -> io::Result<SchedulerHandle> {
    context::with_current(Clone::clone).map_err(|e| io::Error::other(format!("task::Builder: {e}")))
}
