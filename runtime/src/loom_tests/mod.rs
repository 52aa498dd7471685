//! Loom models of the concurrency core, one file per mechanism. Each test wraps its body
//! in `crate::loom::model`; `loom.rs` says how to run them. Below: the toy executor and
//! the drop counters the task models share.

use std::collections::VecDeque;
use std::future::Future;

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule, Task};

mod blocking; // the blocking pool's reservation handshake
mod clock; // the paused clock: holds and idle workers vs the driver's auto-advance
mod owned; // the sharded task registry: binds racing close
mod readiness; // readiness set/clear with ticks, waiter registration vs wake
mod shutdown; // graceful shutdown: the started signal, the drained wait, counted close
mod task_state; // wake vs complete vs JoinHandle drop vs abort, on the real task code

/// A toy executor: a run queue that only the model's main thread runs.
pub(super) struct Shared {
    pub(super) queue: Mutex<VecDeque<Notified<Sched>>>,
    pub(super) owned: OwnedTasks<Sched>,
}

/// The scheduler stored in every task.
#[derive(Clone)]
pub(super) struct Sched(pub(super) Arc<Shared>);

impl Schedule for Sched {
    fn schedule(&self, task: Notified<Self>) {
        self.0.queue.lock().push_back(task);
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.owned.remove(task)
    }
}

impl Sched {
    pub(super) fn new() -> Sched {
        Sched::with_shards(1)
    }

    pub(super) fn with_shards(shards: usize) -> Sched {
        Sched(Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::with_shards(shards),
        }))
    }

    /// Binds `future` and queues it.
    pub(super) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.0.owned.bind(future, self.clone(), None);
        if let Some(task) = notified {
            self.schedule(task); // else the registry is closed and the task cancelled
        }
        join
    }

    /// Runs queued tasks until the queue is empty.
    pub(super) fn run_all(&self) {
        loop {
            let next = self.0.queue.lock().pop_front();
            match next {
                Some(task) => task.run(),
                None => return,
            }
        }
    }

    /// Runs queued tasks until `done` is set (another thread's last step): a thread that
    /// schedules the task may do so after a `run_all` found the queue empty.
    pub(super) fn run_until(&self, done: &AtomicBool) {
        while !done.load(SeqCst) {
            self.run_all();
            thread::yield_now();
        }
        self.run_all();
    }

    /// Shuts the registry down, then runs what is left in the queue (a no-op for each
    /// finished task), and checks that no task allocation survived.
    pub(super) fn shutdown(self) {
        self.0.owned.close_and_shutdown_all();
        self.run_all();
        assert!(self.0.owned.is_empty());
        assert_eq!(Arc::strong_count(&self.0), 1, "a task allocation leaked");
    }
}

/// Counts drops of the values it hands out.
#[derive(Clone, Default)]
pub(super) struct Drops(Arc<AtomicUsize>);

pub(super) struct Counted(Arc<AtomicUsize>);

impl Drops {
    pub(super) fn guard(&self) -> Counted {
        Counted(self.0.clone())
    }

    pub(super) fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}
