//! Executors: the current-thread scheduler and the multi-thread work-stealing one, and
//! what they share (the closable inject queue, parking a thread in `block_on`).

#[allow(
    unsafe_code,
    reason = "spawn_local binds a !Send task on the core's thread"
)]
pub(crate) mod current_thread;
pub(crate) mod multi_thread;

mod inject;
pub(crate) mod park_thread;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use crate::blocking;
use crate::driver;
use crate::task::JoinHandle;

/// A handle to whichever scheduler a runtime runs.
#[derive(Clone, Debug)]
pub(crate) struct SchedulerHandle {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) flavor: Flavor,
    pub(crate) blocking: Arc<blocking::BlockingTasks>,
}

#[derive(Debug)]
pub(crate) enum Flavor {
    CurrentThread(current_thread::CurrentThread),
    MultiThread(multi_thread::Spawner),
}

impl SchedulerHandle {
    /// Identifies the runtime (for `context::is_running`).
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.inner).addr()
    }

    pub(crate) fn driver(&self) -> &driver::DriverHandle {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => &h.driver,
            Flavor::MultiThread(s) => &s.driver,
        }
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn(future),
            Flavor::MultiThread(s) => s.spawn(future),
        }
    }

    pub(crate) fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn_local(future),
            Flavor::MultiThread(_) => panic!(
                "spawn_local: this is a multi-thread runtime, whose tasks move between \
                 threads, so it cannot run a !Send future; use `spawn` with a Send future, \
                 or a `LocalRuntime` (`Builder::new_current_thread().build_local()`, as \
                 `#[runtime::main(flavor = \"current_thread\")]` builds)"
            ),
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
            Flavor::MultiThread(s) => s.block_on(future),
        }
    }

    pub(crate) fn shutdown(&self) {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shutdown(),
            Flavor::MultiThread(s) => s.shutdown(),
        }
    }

    /// Shuts down without waiting: for a runtime dropped from inside itself (its own
    /// `block_on` or task, see `context::is_running`), where waiting would deadlock.
    pub(crate) fn shutdown_deferred(&self) {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shutdown_deferred(),
            Flavor::MultiThread(s) => s.shutdown_deferred(),
        }
    }

    /// The state tasks hold a reference to, to check it is freed.
    #[cfg(test)]
    pub(crate) fn task_scheduler(&self) -> std::sync::Weak<dyn std::any::Any + Send + Sync> {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => {
                let weak: std::sync::Weak<dyn std::any::Any + Send + Sync> =
                    Arc::downgrade(&h.shared) as _;
                weak
            }
            Flavor::MultiThread(s) => s.task_scheduler(),
        }
    }

    /// Cancels blocking tasks that never started (after the pool has shut down).
    pub(crate) fn shutdown_blocking(&self) {
        self.inner.blocking.shutdown();
    }
}
