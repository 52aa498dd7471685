//! The current-thread scheduler: every task runs on the thread inside `block_on`.
//!
//! # Protocol
//!
//! - The `Core` (local run queue and driver) belongs to whichever thread is inside
//!   `block_on`; it sits in `Handle::core` otherwise. While a thread holds it, the thread
//!   installs `LOCAL`, so a wake on that thread pushes onto the local queue without a lock
//!   or a syscall.
//! - A `block_on` caller that finds the core taken polls its own future and registers in
//!   `CoreSlot::waiters`, once per call and under the `core` lock; `return_core` takes the
//!   whole list under that lock and unparks each caller, and a call that finishes without
//!   the core removes its own entry.
//! - A wake on any other thread pushes onto `Shared::inject` and unparks the driver.
//! - Parking: the core thread moves `park` from `EMPTY` to `PARKED` and re-checks the
//!   inject queue before blocking in the driver; a remote waker pushes first, then swaps
//!   `park` to `NOTIFIED` and, only if it saw `PARKED`, writes the reactor waker. Either
//!   the core sees the pushed task, or the waker sees `PARKED` and interrupts the wait.
//! - While tasks are ready the loop never blocks, and it polls the driver without blocking
//!   once every `EVENT_INTERVAL` task polls so I/O and timers are not starved. A task that
//!   yields waits in `Local::deferred` until the driver's next poll, which comes as soon
//!   as the queues run dry.
//!
//! Tasks hold `Arc<Shared>`, which reaches the reactor only through a `Weak`: a `Waker`
//! that outlives the runtime keeps no descriptor open.
//!
//! | file | mechanism |
//! |---|---|
//! | `mod.rs` | the types, spawning |
//! | `core_slot.rs` | handing the core between `block_on` callers, and shutdown |
//! | `run_loop.rs` | the loop inside `block_on`: local and inject queues, parking, wakes |

mod core_slot;
mod run_loop;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, Weak};
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};

use crate::driver::{self, Driver};
use crate::long_poll::LongPollWatch;
use crate::metrics::{WorkerCells, WorkerStats};
use crate::reactor;
use crate::rng::{FastRand, RngSeed};
use crate::scheduler::inject::Inject;
use crate::scheduler::shutdown_signal::ShutdownSignal;
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule};

use core_slot::ThreadWaker;

/// Task polls between two non-blocking looks at the driver.
const EVENT_INTERVAL: u32 = 61;
/// Task polls between two looks at the inject queue ahead of the local queue.
const INJECT_INTERVAL: u32 = 31;

/// The timer slack of a thread running the loop (see `sys::set_thread_timer_slack`).
const TIMER_SLACK: std::time::Duration = std::time::Duration::from_micros(1);

const EMPTY: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

type Runnable = Notified<Arc<Shared>>;

/// The scheduler's handle: spawns from any thread, and hands the core to `block_on`.
pub(crate) struct CurrentThread {
    pub(crate) shared: Arc<Shared>,
    pub(crate) driver: driver::DriverHandle,
    core: Mutex<CoreSlot>,
    core_returned: Condvar,
    /// Set (under the `core` lock) once `shutdown` has taken the core for good.
    shut_down: AtomicBool,
    /// Set (under the `core` lock) by `shutdown_deferred`: whoever hands the core back
    /// shuts down instead.
    shutdown_requested: AtomicBool,
    /// For a `LocalRuntime`: the only thread that may run it (and so its `!Send` tasks).
    owner: Option<ThreadId>,
}

/// What tasks see of their scheduler.
pub(crate) struct Shared {
    pub(crate) owned: OwnedTasks<Arc<Shared>>,
    inject: Inject<Runnable>,
    park: AtomicU8,
    reactor: Weak<reactor::ReactorHandle>,
    /// The core's counters as `RuntimeMetrics` reads them.
    worker: WorkerCells,
    pub(crate) shutdown: ShutdownSignal,
    /// `Builder::on_long_poll`, if set.
    long_poll: Option<LongPollWatch>,
}

/// Where the core waits while no thread is inside `block_on`.
struct CoreSlot {
    core: Option<Box<Core>>,
    /// `block_on` calls waiting for the core (they poll their future meanwhile): one
    /// entry per call, however often its future is woken (see `Waiting` in `core_slot.rs`).
    waiters: Vec<Arc<ThreadWaker>>,
}

struct Core {
    queue: VecDeque<Runnable>,
    driver: Driver,
    tick: u32,
    stats: WorkerStats,
    /// With `Builder::rng_seed`: picks the next task among the queued ones.
    rng: Option<FastRand>,
}

struct Local {
    shared: Arc<Shared>,
    queue: VecDeque<Runnable>,
    /// Tasks that yielded (`yield_now`, or a spent cooperative budget): they go back to
    /// `queue` only after the driver's next look at I/O and timers, as in tokio, so an
    /// always-ready task cannot run `EVENT_INTERVAL` budgets' worth before a timer or
    /// another socket gets a turn.
    deferred: Vec<Runnable>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl CurrentThread {
    /// A scheduler for `driver`; `owner` binds it to one thread (a `LocalRuntime`).
    pub(crate) fn new(
        driver: Driver,
        handle: driver::DriverHandle,
        owner: Option<ThreadId>,
        long_poll: Option<LongPollWatch>,
        rng_seed: Option<RngSeed>,
    ) -> CurrentThread {
        let shared = Arc::new(Shared {
            owned: OwnedTasks::new(),
            inject: Inject::new(),
            park: AtomicU8::new(EMPTY),
            reactor: Arc::downgrade(&handle.io),
            worker: WorkerCells::default(),
            shutdown: ShutdownSignal::new(),
            long_poll,
        });
        let core = Core {
            queue: VecDeque::with_capacity(64),
            driver,
            tick: 0,
            stats: WorkerStats::new(),
            rng: rng_seed.map(FastRand::new),
        };
        CurrentThread {
            shared,
            driver: handle,
            core: Mutex::new(CoreSlot {
                core: Some(Box::new(core)),
                waiters: Vec::new(),
            }),
            core_returned: Condvar::new(),
            shut_down: AtomicBool::new(false),
            shutdown_requested: AtomicBool::new(false),
            owner,
        }
    }

    /// Spawns a `Send` future from any thread.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.shared.owned.bind(future, self.shared.clone(), name);
        if let Some(task) = notified {
            self.shared.schedule(task);
        }
        join
    }

    /// Whether `spawn_local` may run here: on a `LocalRuntime`, on its own thread. The
    /// error says why not, for the caller's panic or `io::Error`.
    pub(crate) fn check_spawn_local(&self) -> Result<(), &'static str> {
        let Some(owner) = self.owner else {
            return Err(
                "spawn_local needs a `LocalRuntime`: this runtime is `Send`, so the thread \
                 running it could change under a !Send task. Build one with \
                 `Builder::new_current_thread().build_local()` (`#[runtime::main(flavor = \
                 \"current_thread\")]` and `#[runtime::test]` do), or use `spawn` with a Send \
                 future",
            );
        };
        if owner != std::thread::current().id() {
            return Err(
                "spawn_local must be called on the thread that owns the `LocalRuntime` (inside \
                 its `block_on`, one of its tasks, or beside it); other threads can only `spawn`",
            );
        }
        Ok(())
    }

    /// Spawns a `!Send` future; only on the thread running this runtime's `block_on`.
    ///
    /// # Panics
    ///
    /// Where [`check_spawn_local`](Self::check_spawn_local) refuses, with its message.
    pub(crate) fn spawn_local<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if let Err(why) = self.check_spawn_local() {
            panic!("{why}");
        }
        // SAFETY: this is the runtime's owner thread (checked above). Only the owner may
        // take the core (see `block_on`), and a `LocalRuntime` is !Send, so it is also shut
        // down here: the task is polled and dropped only on this thread.
        let (join, notified) = unsafe {
            self.shared
                .owned
                .bind_local(future, self.shared.clone(), name)
        };
        if let Some(task) = notified {
            self.shared.schedule(task);
        }
        join
    }
}

impl Shared {
    pub(crate) fn owned(&self) -> &OwnedTasks<Arc<Shared>> {
        &self.owned
    }

    pub(crate) fn inject_len(&self) -> usize {
        self.inject.len()
    }

    pub(crate) fn worker_cells(&self) -> &WorkerCells {
        &self.worker
    }
}

impl fmt::Debug for CurrentThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("current_thread::CurrentThread")
            .field("tasks", &self.shared.owned.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("current_thread::Shared")
            .field("tasks", &self.owned.len())
            .field("injected", &self.inject.len())
            .finish_non_exhaustive()
    }
}
