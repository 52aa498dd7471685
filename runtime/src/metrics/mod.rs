//! `RuntimeMetrics`: what a runtime is doing, read on demand from any thread.
//!
//! Nothing here is counted for the metrics' sake on a hot path: task polls, steals and
//! parks are plain integers in each worker's own state, published into relaxed atomics
//! when the worker parks and every 61 polls (`worker.rs`); task counts come from the
//! registry's shard locks, which spawning takes anyway; queue depths, registrations and the
//! blocking pool's counts are read when asked for. So figures are exact once the runtime is
//! idle, and at most one maintenance interval behind while it runs.

mod worker;

pub(crate) use worker::{WorkerCells, WorkerStats};

use std::fmt;
use std::time::Duration;

use crate::scheduler::{Flavor, SchedulerHandle};

/// A live view of a runtime's counters, from [`Handle::metrics`](crate::Handle::metrics)
/// or [`Runtime::metrics`](crate::Runtime::metrics). Each method reads the current value;
/// the view is cheap to clone and keeps no thread or descriptor of the runtime alive.
///
/// Counts of things that happen (`*_count`, busy time) only grow. A worker's counts are
/// published when it parks and every 61 task polls, so they lag a running worker by at
/// most that much and are exact once it sleeps.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build()?;
/// rt.block_on(async {
///     runtime::spawn(async {}).await.unwrap();
/// });
/// let metrics = rt.metrics();
/// assert_eq!(metrics.num_workers(), 2);
/// assert_eq!(metrics.spawned_tasks_count(), 1);
/// let polls: u64 = metrics.workers().map(|w| w.poll_count()).sum();
/// println!("{polls} polls so far, {} tasks alive", metrics.num_alive_tasks());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    handle: SchedulerHandle,
}

/// One worker's counters, from [`RuntimeMetrics::worker`] or
/// [`RuntimeMetrics::workers`]. The current-thread flavor has one worker: the thread
/// inside `block_on`.
#[derive(Clone, Copy)]
pub struct WorkerMetrics<'a> {
    metrics: &'a RuntimeMetrics,
    index: usize,
    cells: &'a WorkerCells,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: SchedulerHandle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    /// Worker threads (1 for the current-thread flavor, whose worker is the thread inside
    /// `block_on`).
    pub fn num_workers(&self) -> usize {
        match &self.handle.inner.flavor {
            Flavor::CurrentThread(_) => 1,
            Flavor::MultiThread(s) => s.worker_cells().len(),
        }
    }

    /// Tasks spawned and not yet finished or dropped (not counting `spawn_blocking` jobs:
    /// see [`num_blocking_threads`](Self::num_blocking_threads) and
    /// [`blocking_queue_depth`](Self::blocking_queue_depth)).
    pub fn num_alive_tasks(&self) -> usize {
        match &self.handle.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.owned().len(),
            Flavor::MultiThread(s) => s.owned().len(),
        }
    }

    /// Tasks spawned since the runtime was built (refused spawns, after shutdown, are not
    /// counted).
    pub fn spawned_tasks_count(&self) -> u64 {
        match &self.handle.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.owned().registered_total(),
            Flavor::MultiThread(s) => s.owned().registered_total(),
        }
    }

    /// Tasks waiting in the shared (inject) queue: spawned or woken from outside the
    /// workers, or overflowing a worker's queue.
    pub fn global_queue_depth(&self) -> usize {
        match &self.handle.inner.flavor {
            Flavor::CurrentThread(h) => h.shared.inject_len(),
            Flavor::MultiThread(s) => s.inject_len(),
        }
    }

    /// Worker `index`'s counters; `None` past [`num_workers`](Self::num_workers).
    pub fn worker(&self, index: usize) -> Option<WorkerMetrics<'_>> {
        let cells = match &self.handle.inner.flavor {
            Flavor::CurrentThread(h) => (index == 0).then(|| h.shared.worker_cells())?,
            Flavor::MultiThread(s) => s.worker_cells().get(index)?,
        };
        Some(WorkerMetrics {
            metrics: self,
            index,
            cells,
        })
    }

    /// Every worker's counters, in index order.
    pub fn workers(&self) -> impl Iterator<Item = WorkerMetrics<'_>> {
        (0..self.num_workers()).filter_map(|index| self.worker(index))
    }

    /// Descriptors registered with the reactor now (sockets, `AsyncFd`s, signal pipes).
    pub fn io_registered_sources(&self) -> usize {
        self.handle.driver().io.num_registrations()
    }

    /// Readiness events the reactor has dispatched to registrations so far.
    pub fn io_events_dispatched(&self) -> u64 {
        self.handle.driver().io.events_dispatched()
    }

    /// Threads of the blocking pool (running a job or waiting for one).
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.inner.blocking.pool().num_threads()
    }

    /// Blocking-pool threads waiting for a job.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.handle.inner.blocking.pool().num_idle()
    }

    /// `spawn_blocking` jobs queued that no thread has taken yet.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.inner.blocking.pool().queue_depth()
    }
}

impl WorkerMetrics<'_> {
    /// This worker's index, `0..num_workers()`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Task polls this worker has run.
    pub fn poll_count(&self) -> u64 {
        self.cells.polls()
    }

    /// Tasks this worker took from other workers' queues (0 on the current-thread flavor).
    pub fn steal_count(&self) -> u64 {
        self.cells.steals()
    }

    /// Times this worker went to sleep for lack of work.
    pub fn park_count(&self) -> u64 {
        self.cells.parks()
    }

    /// Time this worker spent awake: running tasks, looking for them, handling I/O and
    /// timers.
    pub fn total_busy_duration(&self) -> Duration {
        self.cells.busy()
    }

    /// Tasks in this worker's own queue (on the current-thread flavor: as of its last
    /// publish).
    pub fn local_queue_depth(&self) -> usize {
        match &self.metrics.handle.inner.flavor {
            Flavor::CurrentThread(_) => self.cells.published_queue_depth(),
            Flavor::MultiThread(s) => s.local_queue_depth(self.index),
        }
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("spawned_tasks_count", &self.spawned_tasks_count())
            .field("global_queue_depth", &self.global_queue_depth())
            .field("io_registered_sources", &self.io_registered_sources())
            .field("num_blocking_threads", &self.num_blocking_threads())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WorkerMetrics<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerMetrics")
            .field("index", &self.index)
            .field("poll_count", &self.poll_count())
            .field("steal_count", &self.steal_count())
            .field("park_count", &self.park_count())
            .field("total_busy_duration", &self.total_busy_duration())
            .field("local_queue_depth", &self.local_queue_depth())
            .finish()
    }
}
