//! The worker loop: where a multi-thread worker finds its next task, and when it sleeps.
//!
//! Order of looking: the LIFO slot (the task just woken by the one that ran), the local
//! queue, the inject queue (in a batch), then other workers' queues (half of one), then
//! sleep. Every `INJECT_INTERVAL` ticks the inject queue goes first, and every
//! `EVENT_INTERVAL` ticks the worker polls the driver without blocking, so neither
//! outside spawns nor I/O and timers starve behind a busy local queue. At most
//! `MAX_LIFO_POLLS` tasks run in a row from the LIFO slot; the next goes to the back of
//! the queue, so two tasks waking each other cannot starve the rest. A task that yields
//! (`yield_now`, or a spent cooperative budget) waits in `Core::deferred` until the
//! worker's next driver poll, which comes as soon as nothing else is runnable here, as in
//! tokio: so workers that each hold an always-ready task still look at I/O and timers
//! once per round of their queues, not once per `EVENT_INTERVAL` budgets.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::park::Parker;
use super::queue::{self, Local, Steal};
use super::spawner::{Remote, Runnable, Shared};
use crate::long_poll;
use crate::metrics::WorkerStats;

/// Ticks between two non-blocking polls of the driver.
const EVENT_INTERVAL: u32 = 61;
/// Ticks between two looks at the inject queue ahead of the local one.
const INJECT_INTERVAL: u32 = 31;
/// Tasks run in a row from the LIFO slot before it yields to the queue.
const MAX_LIFO_POLLS: u32 = 3;

/// The timer slack of a worker thread (see `sys::set_thread_timer_slack`).
const TIMER_SLACK: std::time::Duration = std::time::Duration::from_micros(1);

/// A worker's own state; whichever thread holds it runs the worker.
pub(crate) struct Core {
    index: usize,
    /// The task to run next (woken by the task that just ran).
    lifo: Option<Runnable>,
    run_queue: Local<Runnable>,
    /// Tasks that yielded, back to `run_queue` after the next driver poll.
    deferred: Vec<Runnable>,
    tick: u32,
    is_searching: bool,
    is_shutdown: bool,
    /// `None` while the worker sleeps (it is in use then).
    parker: Option<Parker>,
    rand: u32,
    stats: WorkerStats,
}

/// The current thread's worker, while it runs one.
struct Context {
    shared: Arc<Shared>,
    /// The core while a task runs or the worker parks, so that wakes reach its queue.
    core: Option<Box<Core>>,
}

thread_local! {
    static WORKER: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Makes one worker's core and its remote half.
pub(super) fn new_core(index: usize, parker: Parker) -> (Box<Core>, Remote) {
    let (steal, run_queue): (Steal<Runnable>, _) = queue::local();
    let unpark = parker.unparker();
    let core = Box::new(Core {
        index,
        lifo: None,
        run_queue,
        deferred: Vec::new(),
        tick: 0,
        is_searching: false,
        is_shutdown: false,
        parker: Some(parker),
        // Any odd seed works for xorshift; spread the workers' victims apart.
        rand: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
        stats: WorkerStats::new(),
    });
    (core, Remote { steal, unpark })
}

/// Queues `task` on this thread's worker core if this thread is one of `shared`'s workers
/// and holds its core; gives the task back otherwise.
pub(super) fn schedule_local(
    shared: &Arc<Shared>,
    task: Runnable,
    is_yield: bool,
) -> Result<(), Runnable> {
    let mut task = Some(task);
    let _ = WORKER.try_with(|w| {
        let Ok(mut w) = w.try_borrow_mut() else {
            return; // a task dropped inside our own bookkeeping: use the inject queue
        };
        let Some(cx) = w.as_mut() else { return };
        if !Arc::ptr_eq(&cx.shared, shared) {
            return;
        }
        let Some(core) = cx.core.as_mut() else { return };
        let task = task.take().expect("taken once");
        let should_notify = if is_yield {
            core.deferred.push(task);
            false
        } else {
            match core.lifo.replace(task) {
                Some(previous) => {
                    core.run_queue
                        .push_back_or_overflow(previous, &shared.inject);
                    true
                }
                None => false,
            }
        };
        // While the worker sleeps (the driver is waking tasks) it checks after waking.
        if should_notify && core.parker.is_some() {
            shared.notify_parked_local();
        }
    });
    match task {
        None => Ok(()),
        Some(task) => Err(task),
    }
}

/// Runs the worker that owns `core` on this thread until the runtime shuts down, then
/// hands the core in.
pub(super) fn run(shared: Arc<Shared>, core: Box<Core>) {
    let _slack = sys::set_thread_timer_slack(TIMER_SLACK);
    let installed = WORKER.with(|w| {
        w.borrow_mut()
            .replace(Context {
                shared: shared.clone(),
                core: None,
            })
            .is_none()
    });
    assert!(installed, "a thread runs one worker at a time");
    let mut core = core;
    while !core.is_shutdown {
        core = step(&shared, core);
    }
    // Read after the inject queue was seen closed, which the flag's store precedes.
    if shared.keep_tasks_at_stop.load(Ordering::Acquire) {
        drop_queued(&mut core);
    } else {
        core = pre_shutdown(&shared, core);
    }
    WORKER.with(|w| w.borrow_mut().take());
    shared.shutdown_core(core);
}

/// One turn of the loop: run one task (and its LIFO successors), or steal, or sleep.
fn step(shared: &Arc<Shared>, mut core: Box<Core>) -> Box<Core> {
    core.tick = core.tick.wrapping_add(1);
    if core.tick % EVENT_INTERVAL == 0 {
        core = maintenance(shared, core);
        if core.is_shutdown {
            return core;
        }
        core.release_deferred(shared);
    }
    if let Some(task) = core.next_task(shared) {
        return run_task(shared, core, task);
    }
    if let Some(task) = core.steal_work(shared) {
        return run_task(shared, core, task);
    }
    if !core.deferred.is_empty() {
        // Only yielded tasks are left: look at I/O and timers, then run them again
        // behind whatever that woke.
        core = maintenance(shared, core);
        core.release_deferred(shared);
        return core;
    }
    park(shared, core)
}

/// Polls I/O and timers without blocking, and notices shutdown.
fn maintenance(shared: &Arc<Shared>, core: Box<Core>) -> Box<Core> {
    let mut core = with_core_installed(core, || shared.driver.poll_if_free());
    let queued = core.run_queue.len();
    core.stats.publish(&shared.worker_cells[core.index], queued);
    if shared.inject.is_closed() {
        core.is_shutdown = true;
    }
    core
}

/// Runs `task`, then up to `MAX_LIFO_POLLS` tasks it woke through the LIFO slot.
fn run_task(shared: &Arc<Shared>, mut core: Box<Core>, task: Runnable) -> Box<Core> {
    if core.is_searching {
        core.is_searching = false;
        if shared.idle.transition_worker_from_searching() {
            // The last searcher found work: let another look for the rest.
            shared.notify_parked();
        }
    }
    let watch = shared.long_poll.as_ref();
    core = with_core_installed(core, || long_poll::run_task(task, watch));
    core.stats.polled(1);
    for _ in 0..MAX_LIFO_POLLS {
        let Some(task) = core.lifo.take() else {
            return core;
        };
        core = with_core_installed(core, || long_poll::run_task(task, watch));
        core.stats.polled(1);
    }
    if let Some(task) = core.lifo.take() {
        core.run_queue.push_back_or_overflow(task, &shared.inject);
        // This worker takes its next task right now: a sleeper is worth waking only if
        // there is one more for it. (Two tasks waking each other would otherwise wake a
        // worker every few hops, only for it to find the queue already empty.)
        if core.run_queue.len() > 1 {
            shared.notify_parked_local();
        }
    }
    core
}

/// Puts `core` where wakes on this thread can reach it while `f` runs, then takes it back.
fn with_core_installed(core: Box<Core>, f: impl FnOnce()) -> Box<Core> {
    WORKER.with(|w| {
        let mut w = w.borrow_mut();
        let cx = w.as_mut().expect("inside a worker");
        debug_assert!(cx.core.is_none());
        cx.core = Some(core);
    });
    f();
    WORKER.with(|w| {
        let mut w = w.borrow_mut();
        w.as_mut()
            .and_then(|cx| cx.core.take())
            .expect("the core stays installed while a task runs")
    })
}

/// Sleeps until there is work (or shutdown).
fn park(shared: &Arc<Shared>, mut core: Box<Core>) -> Box<Core> {
    if !core.transition_to_parked(shared) {
        return core;
    }
    let queued = core.run_queue.len();
    core.stats.parking(&shared.worker_cells[core.index], queued);
    while !core.is_shutdown {
        let mut parker = core.parker.take().expect("the parker is home while awake");
        let scheduler_idle = || shared.idle.all_parked() && shared.inject.is_empty();
        core = with_core_installed(core, || parker.park(&scheduler_idle));
        core.parker = Some(parker);
        if shared.inject.is_closed() {
            core.is_shutdown = true;
        }
        if core.transition_from_parked(shared) {
            break;
        }
    }
    core.stats.unparked();
    let queued = usize::from(core.lifo.is_some()) + core.run_queue.len();
    if !core.is_searching && queued > 1 {
        // The driver queued several tasks here while we slept: share them.
        shared.notify_parked();
    }
    core
}

/// Shuts down every task of the runtime (idempotent across workers) and drops what this
/// worker still has queued.
fn pre_shutdown(shared: &Arc<Shared>, core: Box<Core>) -> Box<Core> {
    let mut core = with_core_installed(core, || shared.owned.close_and_shutdown_all());
    // Those tasks are cancelled now: their queued references are just released.
    drop_queued(&mut core);
    core
}

/// Releases this worker's queued references. Only once the tasks are shut down, or will
/// be by the graceful shutdown (`Spawner::stop_workers_keeping_tasks`): a dropped
/// reference leaves its task notified but idle, which that shutdown cancels.
fn drop_queued(core: &mut Core) {
    drop(core.lifo.take());
    core.deferred.clear();
    while let Some(task) = core.run_queue.pop() {
        drop(task);
    }
}

impl Core {
    fn has_tasks(&self) -> bool {
        self.lifo.is_some() || !self.run_queue.is_empty() || !self.deferred.is_empty()
    }

    /// Moves the yielded tasks to the back of the queue, where other workers may steal.
    fn release_deferred(&mut self, shared: &Shared) {
        if self.deferred.is_empty() {
            return;
        }
        for task in self.deferred.drain(..) {
            self.run_queue.push_back_or_overflow(task, &shared.inject);
        }
        if self.run_queue.len() > 1 {
            shared.notify_parked_local();
        }
    }

    fn next_task(&mut self, shared: &Shared) -> Option<Runnable> {
        if self.tick % INJECT_INTERVAL == 0 || (self.inject_is_behind(shared) && self.tick % 2 == 0)
        {
            if let Some(task) = shared.inject.pop() {
                return Some(task);
            }
        }
        if let Some(task) = self.lifo.take().or_else(|| self.run_queue.pop()) {
            return Some(task);
        }
        self.take_inject_batch(shared)
    }

    /// Whether the inject queue holds more than this worker's own queue can: a storm of
    /// spawns from a task (overflowing the rings, the spawner behind its spawns) or from
    /// another thread. Then the two queues take turns: drained only every
    /// `INJECT_INTERVAL` ticks, the backlog would keep tasks that wait there (the spawning
    /// task itself, or tasks a full ring sent there) behind the whole storm, while the
    /// tasks in the ring still get every other turn.
    fn inject_is_behind(&self, shared: &Shared) -> bool {
        shared.inject.len() > queue::CAPACITY.max(self.run_queue.len())
    }

    /// Moves a fair share of the inject queue here; returns one to run now.
    fn take_inject_batch(&mut self, shared: &Shared) -> Option<Runnable> {
        if shared.inject.is_empty() {
            return None;
        }
        let workers = shared.remotes.len();
        let fair = shared.inject.len() / workers + 1;
        let n = fair.min(self.run_queue.remaining_slots() / 2).max(1);
        let mut first = None;
        let mut rest = Vec::new();
        shared.inject.pop_n(n, |task| match first {
            None => first = Some(task),
            Some(_) => rest.push(task),
        });
        self.run_queue.push_batch(rest.into_iter(), &shared.inject);
        first
    }

    /// Steals half of another worker's queue, or takes from the inject queue.
    fn steal_work(&mut self, shared: &Shared) -> Option<Runnable> {
        if !self.is_searching {
            self.is_searching = shared.idle.transition_worker_to_searching();
        }
        if !self.is_searching {
            return None;
        }
        let workers = shared.remotes.len();
        let start = self.next_rand() as usize % workers;
        for i in 0..workers {
            let victim = (start + i) % workers;
            if victim == self.index {
                continue;
            }
            let before = self.run_queue.len();
            if let Some(task) = shared.remotes[victim].steal.steal_into(&mut self.run_queue) {
                // The one returned to run now, and the rest it moved here.
                let stolen = 1 + self.run_queue.len().saturating_sub(before);
                self.stats.stole(stolen as u64);
                return Some(task);
            }
        }
        shared.inject.pop()
    }

    /// Leaves `searching` and joins the sleepers, unless work is already here.
    fn transition_to_parked(&mut self, shared: &Shared) -> bool {
        if self.has_tasks() {
            return false;
        }
        let last_searcher = shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        if last_searcher {
            shared.notify_if_work_pending();
        }
        // This may be the last worker to go idle: a paused clock's driver decides again.
        shared.clock.poke_if_paused();
        true
    }

    /// After a wakeup: `true` if the worker should run again.
    fn transition_from_parked(&mut self, shared: &Shared) -> bool {
        if self.has_tasks() {
            // Woken by our own driver with tasks queued here: leave the sleepers. If a
            // producer already took us off them, we were counted as searching.
            if !shared.idle.unpark_worker_by_id(self.index) {
                self.is_searching = true;
            }
            return true;
        }
        if shared.idle.is_parked(self.index) {
            return false; // a spurious wakeup, or the driver woke tasks elsewhere
        }
        // A producer woke us: it counted us as searching.
        self.is_searching = true;
        true
    }

    fn next_rand(&mut self) -> u32 {
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        x
    }
}
