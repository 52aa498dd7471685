//! Executors: the current-thread scheduler and the multi-thread work-stealing one, and
//! what they share (the closable inject queue, parking a thread in `block_on`).

#[allow(
    unsafe_code,
    reason = "spawn_local binds a !Send task on the core's thread"
)]
pub(crate) mod current_thread;
pub(crate) mod multi_thread;

pub(crate) mod inject;
pub(crate) mod park_thread;
pub(crate) mod shutdown_signal;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use crate::blocking;
use crate::context;
use crate::driver;
use crate::task::{self, ClosedCount, JoinHandle};

use shutdown_signal::ShutdownSignal;

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

    /// Spawns `future`, unless the spawn gate refuses it (see [`admits_spawn`]); a refused
    /// task's handle resolves to a cancelled `JoinError`.
    ///
    /// [`admits_spawn`]: SchedulerHandle::admits_spawn
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if !self.admits_spawn() {
            return task::refuse(future, name);
        }
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn(future, name),
            Flavor::MultiThread(s) => s.spawn(future, name),
        }
    }

    /// Whether `spawn_local` may run here; the error says why not.
    pub(crate) fn check_spawn_local(&self) -> Result<(), &'static str> {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.check_spawn_local(),
            Flavor::MultiThread(_) => Err(
                "spawn_local: this is a multi-thread runtime, whose tasks move between \
                 threads, so it cannot run a !Send future; use `spawn` with a Send future, \
                 or a `LocalRuntime` (`Builder::new_current_thread().build_local()`, as \
                 `#[runtime::main(flavor = \"current_thread\")]` builds)",
            ),
        }
    }

    /// # Panics
    ///
    /// Where [`check_spawn_local`](Self::check_spawn_local) refuses, with its message.
    pub(crate) fn spawn_local<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.spawn_local(future, name),
            Flavor::MultiThread(_) => match self.check_spawn_local() {
                Err(why) => panic!("{why}"),
                Ok(()) => unreachable!("a multi-thread runtime runs no local task"),
            },
        }
    }

    pub(crate) fn spawn_blocking<F, R>(&self, f: F, name: Option<Arc<str>>) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if !self.admits_spawn() {
            // Never polled: the closure is dropped unrun, here.
            return task::refuse(async move { f() }, name);
        }
        self.inner.blocking.spawn_blocking(f, name)
    }

    /// The spawn gate: once a graceful shutdown has begun, only the runtime's own threads
    /// (its workers, or the thread driving it) may spawn; a spawn from any other thread is
    /// refused. One `Acquire` load until then.
    fn admits_spawn(&self) -> bool {
        !self.shutdown_signal().is_started() || context::is_running(self)
    }

    pub(crate) fn shutdown_signal(&self) -> &ShutdownSignal {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => &h.shared.shutdown,
            Flavor::MultiThread(s) => &s.shared.shutdown,
        }
    }

    /// Asks the multi-thread flavor's workers to stop and leave the tasks registered
    /// (`Spawner::stop_workers_keeping_tasks`); the caller then waits for them. Nothing
    /// to do for the current-thread flavor, whose tasks run only inside `block_on`.
    pub(crate) fn stop_workers_keeping_tasks(&self) {
        if let Flavor::MultiThread(s) = &self.inner.flavor {
            s.stop_workers_keeping_tasks();
        }
    }

    /// Tasks completed so far (see `OwnedTasks::completed`).
    pub(crate) fn tasks_completed(&self) -> u64 {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.owned.completed(),
            Flavor::MultiThread(s) => s.shared.owned.completed(),
        }
    }

    /// Whether no task is left.
    pub(crate) fn has_no_tasks(&self) -> bool {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.owned.is_empty(),
            Flavor::MultiThread(s) => s.shared.owned.is_empty(),
        }
    }

    /// Closes the task registry, cancels every task in it, and counts (see
    /// `OwnedTasks::close_and_count_all`).
    pub(crate) fn close_and_count_tasks(&self, completed_before: u64) -> ClosedCount {
        match &self.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.owned.close_and_count_all(completed_before),
            Flavor::MultiThread(s) => s.shared.owned.close_and_count_all(completed_before),
        }
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
