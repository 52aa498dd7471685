//! The loop inside `block_on`: run tasks from the local and inject queues, poll the
//! driver now and then, park when idle; and where a wake puts a task.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use super::{
    Core, EMPTY, EVENT_INTERVAL, INJECT_INTERVAL, LOCAL, Local, NOTIFIED, PARKED, Runnable, Shared,
    TIMER_SLACK,
};
use crate::long_poll;
use crate::rng::FastRand;
use crate::scheduler::park_thread::poll_with_budget;
use crate::task::{Schedule, Task};

impl Shared {
    pub(super) fn run<F: Future>(
        self: &Arc<Self>,
        core: &mut Core,
        mut future: Pin<&mut F>,
    ) -> F::Output {
        // Timers fire within the poller's precision, not 50 µs later (Linux's default slack).
        let _slack = sys::set_thread_timer_slack(TIMER_SLACK);
        let previous = install_local(self, std::mem::take(&mut core.queue));
        let guard = UninstallOnDrop { core, previous };
        let waker_state = Arc::new(BlockOnWaker {
            woken: AtomicBool::new(true),
            shared: Arc::downgrade(self),
        });
        let waker = Waker::from(waker_state.clone());
        let mut cx = Context::from_waker(&waker);
        // Polls (of tasks and of the future) since the driver last looked at I/O and timers.
        let mut since_driver = 0;
        loop {
            if waker_state.woken.swap(false, Ordering::AcqRel) {
                since_driver += 1;
                if let Poll::Ready(output) = poll_with_budget(future.as_mut(), &mut cx) {
                    // The core is about to sit unused: let the metrics show where it got.
                    let core = &mut *guard.core;
                    core.stats.publish(&self.worker, self.local_queue_len());
                    return output;
                }
            }
            let core = &mut *guard.core;
            let budget = EVENT_INTERVAL.saturating_sub(since_driver);
            let ran = self.run_tasks(core, budget);
            since_driver += ran;
            if since_driver >= EVENT_INTERVAL || (ran < budget && self.has_deferred()) {
                // Still busy (tasks ready, or a future that keeps waking itself), or only
                // yielded tasks are left: look at I/O and timers without blocking, then
                // let the yielded tasks run again behind what that woke.
                core.stats.publish(&self.worker, self.local_queue_len());
                core.driver.park(Some(std::time::Duration::ZERO));
                self.release_deferred();
                since_driver = 0;
            } else if !waker_state.woken.load(Ordering::Acquire) {
                // The queues ran dry within the budget, and the future waits.
                self.park(core);
                since_driver = 0;
            }
        }
    }

    /// Runs up to `budget` tasks; returns how many ran (fewer: the queues ran dry).
    fn run_tasks(&self, core: &mut Core, budget: u32) -> u32 {
        let mut ran = 0;
        while ran < budget {
            core.tick = core.tick.wrapping_add(1);
            let next = match &mut core.rng {
                None => self.next_task(core.tick),
                Some(rng) => self.next_task_seeded(rng),
            };
            let Some(task) = next else {
                break;
            };
            long_poll::run_task(task, self.long_poll.as_ref());
            ran += 1;
        }
        core.stats.polled(u64::from(ran));
        ran
    }

    fn has_deferred(&self) -> bool {
        with_local(self, |local| !local.deferred.is_empty()).unwrap_or(false)
    }

    /// Moves the yielded tasks to the back of the local queue.
    fn release_deferred(&self) {
        with_local(self, |local| local.queue.extend(local.deferred.drain(..)));
    }

    fn local_queue_len(&self) -> usize {
        with_local_queue(self, |q| q.len()).unwrap_or(0)
    }

    fn next_task(&self, tick: u32) -> Option<Runnable> {
        if tick % INJECT_INTERVAL == 0 {
            self.pop_inject().or_else(|| self.pop_local())
        } else {
            self.pop_local().or_else(|| self.pop_inject())
        }
    }

    /// `Builder::rng_seed`: a seeded coin picks the queue, then a seeded draw picks the
    /// task in the local queue, so the same seed gives the same interleaving.
    fn next_task_seeded(&self, rng: &mut FastRand) -> Option<Runnable> {
        let pick_local = |rng: &mut FastRand| {
            with_local_queue(self, |queue| {
                let len = queue.len();
                (len > 0).then(|| queue.remove(rng.below(len))).flatten()
            })
            .flatten()
        };
        if rng.below(2) == 0 {
            self.pop_inject().or_else(|| pick_local(rng))
        } else {
            pick_local(rng).or_else(|| self.pop_inject())
        }
    }

    fn pop_local(&self) -> Option<Runnable> {
        with_local_queue(self, VecDeque::pop_front).flatten()
    }

    fn pop_inject(&self) -> Option<Runnable> {
        self.inject.pop()
    }

    fn park(&self, core: &mut Core) {
        if self
            .park
            .compare_exchange(EMPTY, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // NOTIFIED: something was scheduled since we last looked.
            self.park.store(EMPTY, Ordering::Release);
            return;
        }
        if !self.inject.is_empty() {
            self.park.store(EMPTY, Ordering::Release);
            return;
        }
        core.stats.parking(&self.worker, self.local_queue_len());
        // A paused clock auto-advances only if no other thread woke us meanwhile (a wake
        // moves `park` to NOTIFIED before it unparks the reactor; see `time/clock.rs`).
        let idle = || self.park.load(Ordering::Acquire) == PARKED && self.inject.is_empty();
        core.driver.park_when_idle(None, idle);
        core.stats.unparked();
        self.park.store(EMPTY, Ordering::Release);
    }

    /// Interrupts a parked core from another thread (see the protocol).
    pub(super) fn unpark(&self) {
        if self.park.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            if let Some(reactor) = self.reactor.upgrade() {
                reactor.unpark();
            }
        }
    }

    pub(super) fn is_local_thread(self: &Arc<Self>) -> bool {
        with_local_queue(self, |_| ()).is_some()
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Runnable) {
        let Err(task) = try_push_local(self, task) else {
            return;
        };
        match self.inject.push(task) {
            Ok(()) => self.unpark(),
            // Shut down: the task was cancelled; release our reference.
            Err(task) => drop(task),
        }
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        let removed = self.owned.remove(task);
        self.shutdown.task_released(|| self.owned.is_empty());
        removed
    }

    /// On the core's thread, the task waits for the driver's next poll (see
    /// `Local::deferred`); from anywhere else it is scheduled as usual.
    fn yield_now(&self, task: Runnable) {
        let mut task = Some(task);
        with_local(self, |local| {
            local.deferred.push(task.take().expect("taken once"));
        });
        if let Some(task) = task {
            self.schedule(task);
        }
    }
}

/// Runs `f` on the local queue if this thread holds `shared`'s core.
pub(super) fn with_local_queue<R>(
    shared: &Shared,
    f: impl FnOnce(&mut VecDeque<Runnable>) -> R,
) -> Option<R> {
    with_local(shared, |local| f(&mut local.queue))
}

/// Runs `f` on the installed `Local` if this thread holds `shared`'s core.
fn with_local<R>(shared: &Shared, f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let local = local.as_mut()?;
            std::ptr::eq(Arc::as_ptr(&local.shared), shared).then(|| f(local))
        })
        .ok()
        .flatten()
}

/// Pushes `task` onto the local queue if this thread holds `shared`'s core; gives it back
/// otherwise.
pub(super) fn try_push_local(shared: &Shared, task: Runnable) -> Result<(), Runnable> {
    let mut task = Some(task);
    with_local_queue(shared, |q| q.push_back(task.take().expect("taken once")));
    match task {
        None => Ok(()),
        Some(task) => Err(task),
    }
}

/// Installs `shared`'s local queue on this thread, returning whatever was installed
/// before (another runtime's, when one runtime is dropped inside another's task).
///
/// During thread teardown (a `Runtime` kept in a `thread_local!` being dropped) the slot
/// may be gone: then nothing is installed, and wakes go through the inject queue.
pub(super) fn install_local(shared: &Arc<Shared>, queue: VecDeque<Runnable>) -> Option<Local> {
    LOCAL
        .try_with(|local| {
            local.borrow_mut().replace(Local {
                shared: shared.clone(),
                queue,
                deferred: Vec::new(),
            })
        })
        .unwrap_or(None)
}

/// Removes our local queue and puts `previous` back; returns our queue, the yielded
/// tasks at its back.
pub(super) fn uninstall_local(previous: Option<Local>) -> VecDeque<Runnable> {
    LOCAL
        .try_with(|local| {
            std::mem::replace(&mut *local.borrow_mut(), previous).map(|mut l| {
                l.queue.extend(l.deferred);
                l.queue
            })
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Puts the local queue back into the core when `run` returns or unwinds.
struct UninstallOnDrop<'a> {
    core: &'a mut Core,
    previous: Option<Local>,
}

impl Drop for UninstallOnDrop<'_> {
    fn drop(&mut self) {
        self.core.queue = uninstall_local(self.previous.take());
    }
}

/// The waker of the future passed to `block_on`.
struct BlockOnWaker {
    woken: AtomicBool,
    shared: Weak<Shared>,
}

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if !shared.is_local_thread() {
            shared.unpark();
        }
    }
}
