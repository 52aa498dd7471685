//! `LocalRuntime`: a current-thread runtime that stays on the thread that built it, so it
//! can run `!Send` futures.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use crate::handle::{EnterGuard, Handle};
use crate::runtime::Runtime;
use crate::task::JoinHandle;

/// A current-thread runtime bound to the thread that built it, where
/// [`spawn_local`](crate::task::spawn_local) runs `!Send` futures.
///
/// It is `!Send`: it can only be driven and dropped on its own thread, so its local tasks
/// are always polled and dropped there. That is checked by the compiler, not at run time.
/// Its [`Handle`] is `Send` and spawns `Send` futures from anywhere; `Handle::block_on` on
/// another thread panics (the runtime's thread runs its tasks).
///
/// `#[runtime::main(flavor = "current_thread")]` and `#[runtime::test]` build one.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = runtime::Builder::new_current_thread().build_local()?;
/// let shared = Rc::new(41);
/// let local = shared.clone();
/// let answer = rt.block_on(async move {
///     runtime::task::spawn_local(async move { *local + 1 }).await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// It cannot leave its thread:
///
/// ```compile_fail
/// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
/// std::thread::spawn(move || drop(rt));
/// ```
#[derive(Debug)]
pub struct LocalRuntime {
    inner: Runtime,
    /// `!Send` and `!Sync`.
    _not_send: PhantomData<*const ()>,
}

impl LocalRuntime {
    pub(crate) fn new(inner: Runtime) -> LocalRuntime {
        LocalRuntime {
            inner,
            _not_send: PhantomData,
        }
    }

    /// Runs `future` to completion on this thread, with the runtime's tasks (local or
    /// not), I/O and timers.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime; `.await` instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Spawns a `Send` task.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Spawns a `!Send` task; it runs while this thread is inside `block_on`.
    ///
    /// # Panics
    ///
    /// Never on the runtime's own thread, which is the only place a `LocalRuntime` can be.
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.inner.handle().inner.spawn_local(future, None)
    }

    /// Runs a blocking function on the blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// A live view of the runtime's counters (see [`RuntimeMetrics`](crate::RuntimeMetrics)).
    pub fn metrics(&self) -> crate::RuntimeMetrics {
        self.inner.metrics()
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        self.inner.handle()
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// As [`Runtime::shutdown_timeout`].
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.inner.shutdown_timeout(timeout);
    }

    /// As [`Runtime::shutdown_gracefully`]; the grace period runs the local tasks too.
    ///
    /// # Panics
    ///
    /// As [`Runtime::shutdown_gracefully`].
    pub fn shutdown_gracefully(self, deadline: Duration) -> crate::ShutdownReport {
        self.inner.shutdown_gracefully(deadline)
    }

    /// As [`Runtime::shutdown_background`].
    pub fn shutdown_background(self) {
        self.inner.shutdown_background();
    }
}
