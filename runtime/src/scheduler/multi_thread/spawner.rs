//! The scheduler's shared state and the spawner that users reach through `Handle`.
//!
//! A woken task is scheduled here: onto the current worker's own queue when the wake
//! happens on one of this runtime's workers, otherwise onto the inject queue, waking a
//! sleeping worker if none is searching (see `idle.rs`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Condvar, Mutex};

use super::idle::Idle;
use super::park::{SharedDriver, Unparker};
use super::queue::Steal;
use super::worker::{self, Core};
use crate::driver;
use crate::long_poll::LongPollWatch;
use crate::metrics::WorkerCells;
use crate::scheduler::inject::Inject;
use crate::scheduler::park_thread;
use crate::scheduler::shutdown_signal::ShutdownSignal;
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::time::Clock;

pub(super) type Runnable = Notified<Arc<Shared>>;

/// What users reach through `Handle`: spawning, shutdown, and the driver handles.
pub(crate) struct Spawner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) driver: driver::DriverHandle,
    pub(super) block_ons: Mutex<BlockOns>,
    pub(super) block_on_returned: Condvar,
}

/// Threads inside `block_on`, which a shutdown waits for (as the current-thread flavor
/// waits for the thread holding its core).
#[derive(Debug, Default)]
pub(super) struct BlockOns {
    running: usize,
    shut_down: bool,
}

/// What every worker and every task of the runtime shares.
pub(crate) struct Shared {
    /// Per worker: the stealing end of its queue and its unparker.
    pub(super) remotes: Box<[Remote]>,
    pub(super) inject: Inject<Runnable>,
    pub(super) idle: Idle,
    pub(crate) owned: OwnedTasks<Arc<Shared>>,
    pub(super) driver: Arc<SharedDriver>,
    /// Per worker: its counters as `RuntimeMetrics` reads them.
    pub(super) worker_cells: Box<[WorkerCells]>,
    pub(crate) shutdown: ShutdownSignal,
    /// Set by [`Spawner::stop_workers_keeping_tasks`]: stopping workers leave the tasks
    /// registered, for the graceful shutdown to count and cancel once none runs.
    pub(super) keep_tasks_at_stop: AtomicBool,
    /// `Builder::on_long_poll`, if set.
    pub(super) long_poll: Option<LongPollWatch>,
    /// The runtime's clock: workers going idle poke a paused one (see `time/clock.rs`).
    pub(super) clock: Arc<Clock>,
    /// Cores handed in by stopped workers; the last one finishes the shutdown.
    #[expect(
        clippy::vec_box,
        reason = "cores arrive boxed from the workers' threads"
    )]
    pub(super) shutdown_cores: Mutex<Vec<Box<Core>>>,
}

pub(super) struct Remote {
    pub(super) steal: Steal<Runnable>,
    pub(super) unpark: Unparker,
}

impl Spawner {
    /// Spawns a `Send` future from any thread.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.shared.owned.bind(future, self.shared.clone(), name);
        if let Some(task) = notified {
            self.shared.schedule_task(task, false);
        }
        join
    }

    /// Runs `future` on this thread (the workers run the tasks meanwhile).
    ///
    /// # Panics
    ///
    /// After the runtime has shut down.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        {
            let mut block_ons = self.block_ons.lock();
            assert!(
                !block_ons.shut_down,
                "block_on: this runtime has shut down (its `Runtime` was dropped), so a \
                 `Handle` to it can no longer run futures; keep the `Runtime` alive"
            );
            block_ons.running += 1;
        }
        let _leave = LeaveBlockOn(self);
        park_thread::block_on(future, Some(self.driver.time.clock()))
    }

    pub(crate) fn owned(&self) -> &OwnedTasks<Arc<Shared>> {
        &self.shared.owned
    }

    pub(crate) fn inject_len(&self) -> usize {
        self.shared.inject.len()
    }

    pub(crate) fn worker_cells(&self) -> &[WorkerCells] {
        &self.shared.worker_cells
    }

    /// Tasks in worker `index`'s queue now (0 for an index past the workers).
    pub(crate) fn local_queue_depth(&self, index: usize) -> usize {
        self.shared
            .remotes
            .get(index)
            .map_or(0, |remote| remote.steal.len())
    }

    /// Waits for every other thread's `block_on` to return, then starts the shutdown.
    /// Called on a thread that is not running this runtime.
    pub(crate) fn shutdown(&self) {
        {
            let mut block_ons = self.block_ons.lock();
            block_ons.shut_down = true;
            while block_ons.running > 0 {
                self.block_on_returned.wait(&mut block_ons);
            }
        }
        self.shutdown_deferred();
        if self.shared.keep_tasks_at_stop.load(Ordering::Acquire) {
            // The workers left the tasks to the graceful shutdown, which normally dropped
            // them already; this is the safety net if it did not get that far.
            self.shared.owned.close_and_shutdown_all();
        }
    }

    /// Stops the workers like [`shutdown_deferred`](Self::shutdown_deferred), except that
    /// they leave every task registered (only their queued references are dropped): once
    /// they have stopped (`Workers::wait`), no task is being polled, and a graceful
    /// shutdown counts and cancels the registered tasks exactly.
    pub(crate) fn stop_workers_keeping_tasks(&self) {
        // Before the close: a worker reads it after seeing the inject queue closed.
        self.shared
            .keep_tasks_at_stop
            .store(true, Ordering::Release);
        self.shutdown_deferred();
    }

    /// Starts the shutdown without waiting for anything: no task is polled any more once
    /// each worker notices, and the workers drop every task. `Workers::wait` joins them.
    pub(crate) fn shutdown_deferred(&self) {
        self.block_ons.lock().shut_down = true;
        if self.shared.inject.close() {
            for remote in self.shared.remotes.iter() {
                remote.unpark.unpark();
            }
        }
    }
}

/// Counts a `block_on` as returned, also when its future panics.
struct LeaveBlockOn<'a>(&'a Spawner);

impl Drop for LeaveBlockOn<'_> {
    fn drop(&mut self) {
        let mut block_ons = self.0.block_ons.lock();
        block_ons.running -= 1;
        if block_ons.running == 0 {
            self.0.block_on_returned.notify_all();
        }
    }
}

impl Spawner {
    /// What tasks hold a reference to, to check it is freed.
    #[cfg(test)]
    pub(crate) fn task_scheduler(&self) -> std::sync::Weak<dyn std::any::Any + Send + Sync> {
        let weak: std::sync::Weak<dyn std::any::Any + Send + Sync> =
            Arc::downgrade(&self.shared) as _;
        weak
    }
}

impl Shared {
    /// Queues a woken (or new) task; see the module docs.
    pub(super) fn schedule_task(self: &Arc<Self>, task: Runnable, is_yield: bool) {
        let Err(task) = worker::schedule_local(self, task, is_yield) else {
            return;
        };
        match self.inject.push(task) {
            Ok(()) => self.notify_parked(),
            // Closed: shutdown has cancelled (or will cancel) the task; drop our reference.
            Err(task) => drop(task),
        }
    }

    /// Wakes one sleeping worker, if one should be (`idle.rs`).
    pub(super) fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark();
        }
    }

    /// After queueing a task on this worker's own queue: wakes a sleeper to steal it, if
    /// one may be asleep (see `Idle::may_have_sleeper`).
    pub(super) fn notify_parked_local(&self) {
        if self.idle.may_have_sleeper() {
            self.notify_parked();
        }
    }

    /// The last searcher going to sleep looks at every queue once more (`idle.rs`).
    pub(super) fn notify_if_work_pending(&self) {
        let queued = self.remotes.iter().any(|r| !r.steal.is_empty());
        if queued || !self.inject.is_empty() {
            self.notify_parked();
        }
    }

    /// A stopped worker hands its core in; the last one finishes the shutdown.
    pub(super) fn shutdown_core(&self, core: Box<Core>) {
        let cores = {
            let mut cores = self.shutdown_cores.lock();
            cores.push(core);
            if cores.len() != self.remotes.len() {
                return;
            }
            std::mem::take(&mut *cores)
        };
        // Every worker has stopped: nothing runs or steals any more.
        drop(cores);
        drop(self.inject.take_all());
        self.driver.shutdown();
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Runnable) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Runnable) {
        self.schedule_task(task, true);
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        let removed = self.owned.remove(task);
        self.shutdown.task_released(|| self.owned.is_empty());
        removed
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("multi_thread::Spawner")
            .field("workers", &self.shared.remotes.len())
            .field("tasks", &self.shared.owned.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("multi_thread::Shared")
            .field("workers", &self.remotes.len())
            .field("injected", &self.inject.len())
            .finish_non_exhaustive()
    }
}
