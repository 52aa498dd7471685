//! `Handle`: a cloneable reference to a runtime, usable from any thread.

use std::future::Future;

use crate::RuntimeMetrics;
use crate::context::{self, SetCurrentGuard, TryCurrentError};
use crate::scheduler;
use crate::shutdown::ShutdownStarted;
use crate::task::{JoinHandle, boxes};

/// A cloneable, `Send + Sync` reference to a [`Runtime`](crate::Runtime): spawn onto it
/// from any thread, enter its context, or block on a future with it.
///
/// A handle does not keep the runtime running: once the `Runtime` is dropped, tasks
/// spawned through a handle are cancelled at once (their `JoinHandle` reports
/// `is_cancelled()`).
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) inner: scheduler::SchedulerHandle,
}

/// Keeps a runtime's context entered on this thread; see [`Handle::enter`].
#[derive(Debug)]
#[must_use = "the context is left when the guard is dropped"]
pub struct EnterGuard<'a> {
    _guard: SetCurrentGuard,
    _handle: std::marker::PhantomData<&'a Handle>,
}

impl Handle {
    /// The handle of the runtime this code runs in.
    ///
    /// # Panics
    ///
    /// Outside a runtime, with a message saying where it works; use
    /// [`try_current`](Handle::try_current) to get an error instead.
    pub fn current() -> Handle {
        Handle {
            inner: context::current("Handle::current()"),
        }
    }

    /// The handle of the runtime this code runs in, or an error outside one.
    ///
    /// # Errors
    ///
    /// [`TryCurrentError`] outside a runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(Clone::clone).map(|inner| Handle { inner })
    }

    /// Makes this runtime current on this thread until the guard drops, so `spawn`,
    /// `sleep` and I/O constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(&self.inner),
            _handle: std::marker::PhantomData,
        }
    }

    /// Spawns a task onto the runtime, from any thread. The runtime's thread is woken if
    /// it is parked.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // A large future goes to the heap here, before it is moved again.
        if const { boxes::<F>() } {
            self.inner.spawn(Box::pin(future), None)
        } else {
            self.inner.spawn(future, None)
        }
    }

    /// A live view of the runtime's counters: workers, tasks, queues, I/O, blocking pool.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.inner.clone())
    }

    /// Runs a blocking function on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f, None)
    }

    /// Runs `future` to completion on this thread, driving the runtime's tasks, I/O and
    /// timers meanwhile (waits while another thread is inside `block_on`).
    ///
    /// # Panics
    ///
    /// If called from inside a runtime (a task or another `block_on`): that would stall
    /// the runtime; `.await` the future instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // A large future goes to the heap here, before it is moved again.
        if const { boxes::<F>() } {
            self.block_on_inner(Box::pin(future))
        } else {
            self.block_on_inner(future)
        }
    }

    /// Resolves once a graceful shutdown of this runtime has begun (see
    /// [`shutdown_started`](crate::shutdown_started)); usable from any thread or task.
    pub fn shutdown_started(&self) -> ShutdownStarted {
        ShutdownStarted::new(self.inner.clone())
    }

    /// Whether this runtime's shutdown has begun (graceful or not). From then on, spawns
    /// from threads outside the runtime are refused (their `JoinHandle` resolves to a
    /// cancelled `JoinError`); see
    /// [`Runtime::shutdown_gracefully`](crate::Runtime::shutdown_gracefully).
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown_signal().is_started()
    }

    fn block_on_inner<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter_runtime(&self.inner);
        self.inner.block_on(future)
    }
}
