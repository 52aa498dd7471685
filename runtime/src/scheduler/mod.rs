//! Executors. One flavor for now: the current-thread scheduler.

#[allow(
    unsafe_code,
    reason = "spawn_local binds a !Send task on the core's thread"
)]
pub(crate) mod current_thread;

use std::future::Future;
use std::sync::Arc;

use crate::blocking;
use crate::driver;
use crate::task::JoinHandle;

/// A handle to whichever scheduler a runtime runs.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) flavor: Flavor,
    pub(crate) blocking: Arc<blocking::BlockingTasks>,
}

#[derive(Debug)]
pub(crate) enum Flavor {
    CurrentThread(current_thread::Handle),
}

impl Handle {
    pub(crate) fn driver(&self) -> &driver::Handle {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => &h.driver,
        }
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn(future),
        }
    }

    pub(crate) fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn_local(future),
        }
    }

    pub(crate) fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking.spawn_blocking(f)
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.block_on(future),
        }
    }

    pub(crate) fn shutdown(&self) {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shutdown(),
        }
    }

    /// Cancels blocking tasks that never started (after the pool has shut down).
    pub(crate) fn shutdown_blocking(&self) {
        self.inner.blocking.shutdown();
    }
}
