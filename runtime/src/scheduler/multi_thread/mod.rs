//! The multi-thread work-stealing scheduler.
//!
//! # Map
//!
//! | file | mechanism |
//! |---|---|
//! | `queue.rs` | each worker's lock-free run queue (`Local` to push and pop, `Steal` for others) |
//! | `idle.rs` | counts of searching and sleeping workers: who to wake for a new task |
//! | `park.rs` | how a worker sleeps: in the shared driver, or on its condvar |
//! | `worker.rs` | the worker loop: LIFO slot, local queue, inject queue, stealing, parking |
//! | `spawner.rs` | scheduling a woken task: to this worker's queue or the inject queue |
//! | `launch.rs` | starting the worker threads and waiting for them at shutdown |
//!
//! # Protocol
//!
//! - A task woken on one of this runtime's workers goes to that worker's LIFO slot (a
//!   `yield_now` goes to the back of its queue); a task woken or spawned anywhere else goes
//!   to the inject queue. Either way a sleeping worker is woken only if no worker is
//!   already searching (`idle.rs`).
//! - Each worker's `Core` (its queue's owner end, LIFO slot, parker) sits in the worker's
//!   thread-local context while a task runs or the worker parks, so that wakes on that
//!   thread reach it without a lock.
//! - Shutdown: [`Spawner::shutdown`] closes the inject queue and unparks every worker. Each
//!   worker, on seeing it, shuts every task down (`OwnedTasks::close_and_shutdown_all`, which
//!   is idempotent), drops its queued references and hands its core in; the last one
//!   drains the inject queue and shuts the driver down.
//! - Graceful shutdown: [`Spawner::stop_workers_keeping_tasks`] sets `keep_tasks_at_stop`
//!   before it closes the inject queue; a worker that sees the queue closed reads the flag
//!   and only drops its queued references, leaving the tasks registered, so the caller
//!   can count and cancel them once every worker has stopped and none is mid-poll.

#[expect(
    unsafe_code,
    reason = "the run queue moves tasks through uninitialised slots"
)]
mod queue;

mod idle;
mod launch;
mod park;
mod spawner;
mod worker;

// Loom models of the run queue and the parker (see `crate::loom`).
#[cfg(all(test, loom))]
mod loom_models;

pub(crate) use launch::{Config, Workers, build};
pub(crate) use spawner::Spawner;
