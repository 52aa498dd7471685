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
//!   once every `EVENT_INTERVAL` task polls so I/O and timers are not starved.
//!
//! Tasks hold `Arc<Shared>`, which reaches the reactor only through a `Weak`: a `Waker`
//! that outlives the runtime keeps no descriptor open.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};

use crate::driver::{self, Driver};
use crate::reactor;
use crate::scheduler::inject::Inject;
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule, Task, coop};

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
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) driver: driver::Handle,
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
    owned: OwnedTasks<Arc<Shared>>,
    inject: Inject<Runnable>,
    park: AtomicU8,
    reactor: Weak<reactor::Handle>,
}

/// Where the core waits while no thread is inside `block_on`.
struct CoreSlot {
    core: Option<Box<Core>>,
    /// `block_on` calls waiting for the core (they poll their future meanwhile): one
    /// entry per call, however often its future is woken (see [`Waiting`]).
    waiters: Vec<Arc<ThreadWaker>>,
}

struct Core {
    queue: VecDeque<Runnable>,
    driver: Driver,
    tick: u32,
}

struct Local {
    shared: Arc<Shared>,
    queue: VecDeque<Runnable>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Handle {
    /// A scheduler for `driver`; `owner` binds it to one thread (a `LocalRuntime`).
    pub(crate) fn new(driver: Driver, handle: driver::Handle, owner: Option<ThreadId>) -> Handle {
        let shared = Arc::new(Shared {
            owned: OwnedTasks::new(),
            inject: Inject::new(),
            park: AtomicU8::new(EMPTY),
            reactor: Arc::downgrade(&handle.io),
        });
        let core = Core {
            queue: VecDeque::with_capacity(64),
            driver,
            tick: 0,
        };
        Handle {
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
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.shared.owned.bind(future, self.shared.clone());
        if let Some(task) = notified {
            self.shared.schedule(task);
        }
        join
    }

    /// Spawns a `!Send` future; only on the thread running this runtime's `block_on`.
    pub(crate) fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let Some(owner) = self.owner else {
            panic!(
                "spawn_local needs a `LocalRuntime`: this runtime is `Send`, so the thread \
                 running it could change under a !Send task. Build one with \
                 `Builder::new_current_thread().build_local()` (`#[runtime::main(flavor = \
                 \"current_thread\")]` and `#[runtime::test]` do), or use `spawn` with a Send \
                 future"
            );
        };
        assert!(
            owner == std::thread::current().id(),
            "spawn_local must be called on the thread that owns the `LocalRuntime` (inside its \
             `block_on`, one of its tasks, or beside it); other threads can only `spawn`"
        );
        // SAFETY: this is the runtime's owner thread. Only the owner may take the core (see
        // `block_on`), and a `LocalRuntime` is !Send, so it is also shut down here: the task
        // is polled and dropped only on this thread.
        let (join, notified) = unsafe { self.shared.owned.bind_local(future, self.shared.clone()) };
        if let Some(task) = notified {
            self.shared.schedule(task);
        }
        join
    }

    /// Runs `future` to completion on this thread, running tasks and the driver meanwhile.
    ///
    /// While another thread holds the core (it is inside `block_on` too), the future is
    /// polled here without it, like tokio does: its timers and I/O are driven by the core's
    /// holder, whose wakes unpark this thread. When the core comes back, this thread takes
    /// it and goes on with the same future.
    ///
    /// # Panics
    ///
    /// On a thread other than a `LocalRuntime`'s own.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        if let Some(owner) = self.owner {
            assert!(
                owner == std::thread::current().id(),
                "block_on: this runtime is a `LocalRuntime`, bound to the thread that built it \
                 (its !Send tasks live there); spawn onto it through the Handle instead, or \
                 use a `Runtime`"
            );
        }
        let mut future = pin!(future);
        let mut waiting = Waiting {
            handle: self,
            parker: Arc::new(ThreadWaker {
                woken: AtomicBool::new(true),
                thread: std::thread::current(),
            }),
            registered: false,
        };
        let waker = Waker::from(waiting.parker.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Some(core) = self.try_take_core() {
                let mut guard = ReturnCore {
                    handle: self,
                    core: Some(core),
                };
                let core = guard.core.as_mut().expect("present until the guard drops");
                return self.shared.run(core, future.as_mut());
            }
            if waiting.parker.woken.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            self.wait_for_core_or_wake(&mut waiting);
        }
    }

    /// Takes the core if it is free.
    ///
    /// # Panics
    ///
    /// After shutdown: the core never comes back, so the future could never be driven.
    fn try_take_core(&self) -> Option<Box<Core>> {
        let mut slot = self.core.lock();
        let core = slot.core.take();
        assert!(
            core.is_some() || !self.shut_down.load(Ordering::Acquire),
            "block_on: this runtime has shut down (its `Runtime` was dropped), so a \
             `Handle` to it can no longer run futures; keep the `Runtime` alive"
        );
        core
    }

    /// Parks this thread until its future is woken or the core is returned.
    fn wait_for_core_or_wake(&self, waiting: &mut Waiting<'_>) {
        {
            let mut slot = self.core.lock();
            if slot.core.is_some() || self.shut_down.load(Ordering::Acquire) {
                return;
            }
            // Registered under the lock that `return_core` takes: no return is missed.
            // Once per call: an entry stays until `return_core` takes it or the call leaves.
            if !slot.waiters.iter().any(|w| Arc::ptr_eq(w, &waiting.parker)) {
                slot.waiters.push(waiting.parker.clone());
                waiting.registered = true;
            }
        }
        if !waiting.parker.woken.load(Ordering::Acquire) {
            std::thread::park(); // spurious returns just loop
        }
    }

    /// How many `block_on` calls wait for the core.
    #[cfg(test)]
    fn waiter_count(&self) -> usize {
        self.core.lock().waiters.len()
    }

    fn return_core(&self, core: Box<Core>) {
        let waiters = {
            let mut slot = self.core.lock();
            if self.shutdown_requested.load(Ordering::Acquire) {
                // Dropped from inside (see `shutdown_deferred`): shut down now.
                self.shut_down.store(true, Ordering::Release);
                let waiters = std::mem::take(&mut slot.waiters);
                drop(slot);
                for waiter in waiters {
                    waiter.thread.unpark();
                }
                self.shutdown_core(*core);
                return;
            }
            slot.core = Some(core);
            std::mem::take(&mut slot.waiters)
        };
        // A waiting shutdown sleeps on the condvar; block_on callers are parked threads.
        self.core_returned.notify_all();
        for waiter in waiters {
            waiter.thread.unpark();
        }
    }

    /// Drops every task (each future exactly once), then fails I/O and timers. Called by
    /// `Runtime`'s drop, with the runtime's context entered, on a thread not running this
    /// runtime (see [`shutdown_deferred`](Handle::shutdown_deferred) for that case).
    pub(crate) fn shutdown(&self) {
        let core = {
            let mut slot = self.core.lock();
            loop {
                if let Some(core) = slot.core.take() {
                    self.shut_down.store(true, Ordering::Release);
                    break core;
                }
                if self.shut_down.load(Ordering::Acquire) {
                    return; // already shut down
                }
                // Another thread is inside block_on (through a `Handle`): its tasks are
                // ours to drop, so wait for it to hand the core back.
                self.core_returned.wait(&mut slot);
            }
        };
        self.shutdown_core(*core);
    }

    /// Shuts down as soon as the core is free, without waiting for it: for a runtime
    /// dropped (or shut down in the background) from inside its own `block_on` or task,
    /// where the core is held up this thread's stack. The holder's `block_on` shuts down
    /// when it hands the core back; nothing keeps running as a zombie.
    pub(crate) fn shutdown_deferred(&self) {
        let core = {
            let mut slot = self.core.lock();
            self.shutdown_requested.store(true, Ordering::Release);
            let core = slot.core.take();
            if core.is_some() {
                self.shut_down.store(true, Ordering::Release);
            }
            core
        };
        if let Some(core) = core {
            self.shutdown_core(*core);
        }
    }

    fn shutdown_core(&self, mut core: Core) {
        // Nobody can be waiting for the core now: `return_core` unparked the block_on
        // callers that were, and new ones see `shut_down` under the lock.
        self.core_returned.notify_all();
        // Spawns and foreign wakes from here on are refused (and their task dropped).
        self.shared.inject.close();
        let previous = install_local(&self.shared, std::mem::take(&mut core.queue));
        self.shared.owned.close_and_shutdown_all();
        // Futures dropped above may have woken tasks; those are complete, so the queued
        // references are just released.
        loop {
            let local = with_local_queue(&self.shared, std::mem::take).unwrap_or_default();
            let injected = self.shared.inject.take_all();
            if local.is_empty() && injected.is_empty() {
                break;
            }
            drop(local);
            drop(injected);
        }
        drop(uninstall_local(previous));
        debug_assert!(self.shared.owned.is_empty(), "every task was shut down");
        core.driver.shutdown();
    }
}

impl Shared {
    fn run<F: Future>(self: &Arc<Self>, core: &mut Core, mut future: Pin<&mut F>) -> F::Output {
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
                if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                    return output;
                }
            }
            let core = &mut *guard.core;
            since_driver += self.run_tasks(core, EVENT_INTERVAL.saturating_sub(since_driver));
            if since_driver >= EVENT_INTERVAL {
                // Still busy (tasks ready, or a future that keeps waking itself): look at
                // I/O and timers without blocking, then go on.
                core.driver.park(Some(std::time::Duration::ZERO));
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
        for ran in 0..budget {
            core.tick = core.tick.wrapping_add(1);
            match self.next_task(core.tick) {
                Some(task) => task.run(),
                None => return ran,
            }
        }
        budget
    }

    fn next_task(&self, tick: u32) -> Option<Runnable> {
        if tick % INJECT_INTERVAL == 0 {
            self.pop_inject().or_else(|| self.pop_local())
        } else {
            self.pop_local().or_else(|| self.pop_inject())
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
        core.driver.park(None);
        self.park.store(EMPTY, Ordering::Release);
    }

    /// Interrupts a parked core from another thread (see the protocol).
    fn unpark(&self) {
        if self.park.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            if let Some(reactor) = self.reactor.upgrade() {
                reactor.unpark();
            }
        }
    }

    fn is_local_thread(self: &Arc<Self>) -> bool {
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
        self.owned.remove(task)
    }
}

/// Runs `f` on the local queue if this thread holds `shared`'s core.
fn with_local_queue<R>(shared: &Shared, f: impl FnOnce(&mut VecDeque<Runnable>) -> R) -> Option<R> {
    LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let local = local.as_mut()?;
            std::ptr::eq(Arc::as_ptr(&local.shared), shared).then(|| f(&mut local.queue))
        })
        .ok()
        .flatten()
}

/// Pushes `task` onto the local queue if this thread holds `shared`'s core; gives it back
/// otherwise.
fn try_push_local(shared: &Shared, task: Runnable) -> Result<(), Runnable> {
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
fn install_local(shared: &Arc<Shared>, queue: VecDeque<Runnable>) -> Option<Local> {
    LOCAL
        .try_with(|local| {
            local.borrow_mut().replace(Local {
                shared: shared.clone(),
                queue,
            })
        })
        .unwrap_or(None)
}

/// Removes our local queue and puts `previous` back; returns our queue.
fn uninstall_local(previous: Option<Local>) -> VecDeque<Runnable> {
    LOCAL
        .try_with(|local| std::mem::replace(&mut *local.borrow_mut(), previous).map(|l| l.queue))
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

/// Hands the core back when `block_on` returns or unwinds (a panicking future), so the
/// runtime stays usable and its drop can still shut the tasks down.
struct ReturnCore<'a> {
    handle: &'a Handle,
    core: Option<Box<Core>>,
}

impl Drop for ReturnCore<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            self.handle.return_core(core);
        }
    }
}

/// One `block_on` call's place in the waiter list: it registers at most once, and its
/// entry leaves with it (returning with its output, or unwinding) if `return_core` has
/// not taken it already.
struct Waiting<'a> {
    handle: &'a Handle,
    parker: Arc<ThreadWaker>,
    /// Whether this call ever pushed an entry; if not, leaving takes no lock.
    registered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let mut slot = self.handle.core.lock();
        if let Some(i) = slot
            .waiters
            .iter()
            .position(|w| Arc::ptr_eq(w, &self.parker))
        {
            slot.waiters.swap_remove(i);
        }
    }
}

/// The waker of a `block_on` future polled without the core: unparks its thread.
struct ThreadWaker {
    woken: AtomicBool,
    thread: std::thread::Thread,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
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

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("current_thread::Handle")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    /// A flag a future can wait on, set from any thread.
    #[derive(Default)]
    struct Flag {
        set: AtomicBool,
        waker: Mutex<Option<Waker>>,
    }

    impl Flag {
        fn set(&self) {
            self.set.store(true, Ordering::Release);
            if let Some(waker) = self.waker.lock().take() {
                waker.wake();
            }
        }

        async fn wait(&self) {
            std::future::poll_fn(|cx| {
                *self.waker.lock() = Some(cx.waker().clone());
                if self.set.load(Ordering::Acquire) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }
    }

    fn new_handle() -> Arc<Handle> {
        let (driver, driver_handle) = Driver::new().expect("opening the driver");
        Arc::new(Handle::new(driver, driver_handle, None))
    }

    // Proves a `block_on` caller waiting for the core holds one entry in the waiter list,
    // however often its future is woken (the list used to grow by one per wake).
    // Steps: thread A takes the core and waits on a flag; thread B `block_on`s a future
    // that hands its waker to thread C 10,000 times, reading the waiter count on each
    // poll; then B completes, and A is released.
    #[test]
    fn a_waiting_block_on_holds_one_waiter_entry_however_often_woken() {
        const WAKES: usize = 10_000;
        let handle = new_handle();
        let release = Arc::new(Flag::default());
        let (entered_tx, entered) = mpsc::channel();
        let holder = thread::spawn({
            let (handle, release) = (handle.clone(), release.clone());
            move || {
                handle.block_on(async {
                    entered_tx.send(()).unwrap();
                    release.wait().await;
                });
            }
        });
        entered
            .recv()
            .expect("thread A entered block_on with the core");

        let (wakers_tx, wakers) = mpsc::channel::<Waker>();
        let waker_thread = thread::spawn(move || {
            for waker in wakers {
                waker.wake();
            }
        });
        let mut polls = 0;
        let mut most_waiters = 0;
        handle.block_on(std::future::poll_fn(|cx| {
            most_waiters = most_waiters.max(handle.waiter_count());
            polls += 1;
            if polls > WAKES {
                return Poll::Ready(());
            }
            wakers_tx.send(cx.waker().clone()).unwrap();
            Poll::Pending
        }));
        let left_behind = handle.waiter_count();
        drop(wakers_tx);
        waker_thread.join().unwrap();
        release.set();
        holder.join().unwrap();
        handle.shutdown();

        assert!(
            most_waiters <= 1,
            "waiter list grew to {most_waiters} entries"
        );
        assert_eq!(left_behind, 0, "a finished block_on left its entry behind");
    }
}
