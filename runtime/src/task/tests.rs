//! Task behaviour through a tiny executor: a `VecDeque` run queue and an
//! `OwnedTasks` registry, ticked by hand. `JoinHandle`s are polled by hand with a
//! counting waker. Sizes shrink under miri.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::{io, thread};

use parking_lot::Mutex;

use super::{JoinError, JoinHandle, Notified, OwnedTasks, Schedule, Task, yield_now};

/// The executor's shared state, owned by `Rt`.
struct Shared {
    queue: Mutex<VecDeque<Notified<Sched>>>,
    owned: OwnedTasks<Sched>,
    yields: AtomicUsize,
}

/// The scheduler stored in each task. Holds the executor weakly, like a handle
/// to a runtime that may be gone: then `schedule` drops the task and `release`
/// finds nothing.
#[derive(Clone)]
struct Sched(Weak<Shared>);

impl Schedule for Sched {
    fn schedule(&self, task: Notified<Self>) {
        if let Some(shared) = self.0.upgrade() {
            shared.queue.lock().push_back(task);
        }
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.upgrade()?.owned.remove(task)
    }

    fn yield_now(&self, task: Notified<Self>) {
        if let Some(shared) = self.0.upgrade() {
            shared.yields.fetch_add(1, SeqCst);
        }
        self.schedule(task);
    }
}

/// The test executor. Dropping it shuts everything down and drops the queue.
struct Rt(Arc<Shared>);

impl Rt {
    fn new() -> Rt {
        Rt::with_registry(OwnedTasks::new())
    }

    /// An executor whose registry has `shards` shards, as a multi-thread runtime's does.
    fn with_shards(shards: usize) -> Rt {
        Rt::with_registry(OwnedTasks::with_shards(shards))
    }

    fn with_registry(owned: OwnedTasks<Sched>) -> Rt {
        Rt(Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            owned,
            yields: AtomicUsize::new(0),
        }))
    }

    fn sched(&self) -> Sched {
        Sched(Arc::downgrade(&self.0))
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (handle, notified) = self.0.owned.bind(future, self.sched(), None);
        if let Some(notified) = notified {
            self.sched().schedule(notified);
        }
        handle
    }

    fn spawn_local<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        // SAFETY: (contract of `bind_local`) tests that break it do so on purpose
        // and check that the task guards itself.
        let (handle, notified) = unsafe { self.0.owned.bind_local(future, self.sched(), None) };
        if let Some(notified) = notified {
            self.sched().schedule(notified);
        }
        handle
    }

    /// Pops one task (outside the queue lock) or `None`.
    fn pop(&self) -> Option<Notified<Sched>> {
        self.0.queue.lock().pop_front()
    }

    /// Runs queued tasks until the queue is empty; returns how many runs.
    fn run_until_idle(&self) -> usize {
        let mut runs = 0;
        while let Some(task) = self.pop() {
            task.run();
            runs += 1;
        }
        runs
    }

    fn queued(&self) -> usize {
        self.0.queue.lock().len()
    }

    fn shutdown(&self) {
        self.0.owned.close_and_shutdown_all();
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Counts wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Counts drops of the values made by `guard`.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

struct DropGuard(Arc<AtomicUsize>);

impl Drops {
    fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls a join handle once with `waker`.
fn poll_with<T>(handle: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// Polls a join handle once with a no-op waker.
fn poll_join<T>(handle: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    poll_with(handle, Waker::noop())
}

/// The result of a finished task.
fn join<T>(mut handle: JoinHandle<T>) -> Result<T, JoinError> {
    match poll_join(&mut handle) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("task has not finished"),
    }
}

/// A future that is `Pending` until its flag is set, waking through a waker it
/// stores in a shared slot.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
}

impl Gate {
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        std::future::poll_fn(move |cx| {
            gate.polls.fetch_add(1, SeqCst);
            if gate.open.load(SeqCst) {
                return Poll::Ready(());
            }
            *gate.waker.lock() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn open(&self) {
        self.open.store(true, SeqCst);
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
    }

    fn waker(&self) -> Waker {
        self.waker.lock().clone().expect("the task was polled")
    }

    fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }
}

/// A small number under miri, the full one otherwise.
fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

#[test]
fn spawned_task_runs_to_completion_and_handle_yields_output() {
    // Proves: bind -> schedule -> run -> Ready stores the output, the handle
    // returns it, and the registry is empty afterwards.
    let rt = Rt::new();
    let mut handle = rt.spawn(async { 40 + 2 });
    assert!(!handle.is_finished());
    assert!(poll_join(&mut handle).is_pending());
    assert_eq!(rt.0.owned.len(), 1);
    assert_eq!(rt.run_until_idle(), 1);
    assert!(handle.is_finished());
    assert_eq!(join(handle).unwrap(), 42);
    assert!(rt.0.owned.is_empty());
}

#[test]
fn join_waker_is_woken_once_on_completion() {
    // Proves: a handle polled before completion is woken when the task finishes,
    // and re-polling with the same waker does not register it twice.
    let rt = Rt::new();
    let gate = Gate::default();
    let mut handle = rt.spawn(gate.wait());
    rt.run_until_idle();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut handle, &waker).is_pending());
    assert!(poll_with(&mut handle, &waker).is_pending());
    gate.open();
    rt.run_until_idle();
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut handle, &waker).is_ready());
}

#[test]
fn join_waker_can_be_replaced_before_completion() {
    // Proves: polling the handle with a different waker swaps the published one;
    // only the latest is woken.
    let rt = Rt::new();
    let gate = Gate::default();
    let mut handle = rt.spawn(gate.wait());
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    assert!(poll_with(&mut handle, &first_waker).is_pending());
    assert!(poll_with(&mut handle, &second_waker).is_pending());
    rt.run_until_idle();
    gate.open();
    rt.run_until_idle();
    assert_eq!((first.count(), second.count()), (0, 1));
    assert!(join(handle).is_ok());
}

#[test]
#[expect(clippy::waker_clone_wake, reason = "waking by value is what is tested")]
fn wake_while_running_reschedules_exactly_once() {
    // Proves: wakes during the poll (by ref, by value, several) only set NOTIFIED;
    // the runner queues the task once after `Pending`, and it runs again.
    let rt = Rt::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let handle = rt.spawn(std::future::poll_fn(move |cx| {
        if counted.fetch_add(1, SeqCst) == 0 {
            cx.waker().wake_by_ref();
            cx.waker().clone().wake();
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(())
    }));
    let first = rt.pop().unwrap();
    first.run();
    assert_eq!(rt.queued(), 1);
    assert_eq!(rt.run_until_idle(), 1);
    assert_eq!(polls.load(SeqCst), 2);
    assert!(join(handle).is_ok());
}

#[test]
#[expect(clippy::waker_clone_wake, reason = "waking by value is what is tested")]
fn many_wakes_while_idle_schedule_once() {
    // Proves: an idle task woken many times (clones, by value and by ref) is
    // queued once, and the waker clones free nothing they do not own.
    let rt = Rt::new();
    let gate = Gate::default();
    let handle = rt.spawn(gate.wait());
    rt.run_until_idle();
    let waker = gate.waker();
    for _ in 0..10 {
        waker.wake_by_ref();
        waker.clone().wake();
    }
    assert_eq!(rt.queued(), 1);
    rt.run_until_idle();
    assert_eq!(gate.polls(), 2);
    gate.open();
    waker.wake();
    rt.run_until_idle();
    assert!(join(handle).is_ok());
}

#[test]
fn abort_of_idle_task_drops_future_once_and_handle_yields_cancelled() {
    // Proves: abort queues the idle task once; running it drops the future
    // exactly once without polling; the handle resolves to cancelled; a second
    // abort and later wakes do nothing.
    let rt = Rt::new();
    let drops = Drops::default();
    let gate = Gate::default();
    let guard = drops.guard();
    let wait = gate.wait();
    let mut handle = rt.spawn(async move {
        let _guard = guard;
        wait.await;
    });
    rt.run_until_idle();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut handle, &waker).is_pending());
    handle.abort();
    handle.abort();
    assert_eq!(rt.queued(), 1);
    assert_eq!(drops.count(), 0);
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    assert_eq!(gate.polls(), 1);
    assert_eq!(counter.count(), 1);
    assert!(handle.is_finished());
    gate.open();
    assert_eq!(rt.queued(), 0);
    assert!(join(handle).unwrap_err().is_cancelled());
    assert!(rt.0.owned.is_empty());
}

#[test]
fn abort_before_first_poll_never_polls() {
    // Proves: aborting a task still in the queue marks it; the queued Notified
    // drops it instead of polling, and no second Notified is made.
    let rt = Rt::new();
    let gate = Gate::default();
    let handle = rt.spawn(gate.wait());
    handle.abort();
    assert_eq!(rt.queued(), 1);
    rt.run_until_idle();
    assert_eq!(gate.polls(), 0);
    assert!(join(handle).unwrap_err().is_cancelled());
}

#[test]
fn abort_during_poll_cancels_right_after_it() {
    // Proves: abort from inside the task's own poll lets the poll finish, then
    // the runner drops the future (once) instead of idling or rescheduling it.
    let rt = Rt::new();
    let drops = Drops::default();
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let (guard, inner_slot) = (drops.guard(), slot.clone());
    let handle = rt.spawn(async move {
        let _guard = guard;
        std::future::poll_fn(|cx| {
            inner_slot.lock().as_ref().unwrap().abort();
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        })
        .await;
    });
    *slot.lock() = Some(handle);
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    let handle = slot.lock().take().unwrap();
    assert!(join(handle).unwrap_err().is_cancelled());
}

#[test]
fn abort_of_completed_task_keeps_its_output() {
    // Proves: abort after completion is a no-op: nothing is queued, the output
    // is still delivered.
    let rt = Rt::new();
    let handle = rt.spawn(async { String::from("done") });
    rt.run_until_idle();
    handle.abort();
    assert_eq!(rt.queued(), 0);
    assert_eq!(join(handle).unwrap(), "done");
}

#[test]
fn panic_in_poll_becomes_join_error_with_payload() {
    // Proves: a panicking poll is caught; the future is dropped; the handle gets
    // `is_panic` with the original payload; the executor keeps running tasks.
    let rt = Rt::new();
    let drops = Drops::default();
    let guard = drops.guard();
    let bad = rt.spawn(async move {
        let _guard = guard;
        boom()
    });
    let good = rt.spawn(async { 7 });
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    let err = join(bad).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
    assert_eq!(join(good).unwrap(), 7);
}

/// Panics with "boom".
fn boom() -> u8 {
    panic!("boom");
}

/// Panics in its destructor.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panic");
    }
}

#[test]
fn panic_in_future_destructor_during_cancel_is_caught() {
    // Proves: a future whose destructor panics while being cancelled (abort, then
    // shutdown of another) does not unwind into the executor; both handles still
    // resolve to cancelled.
    let rt = Rt::new();
    let gate = Gate::default();
    let (wait1, wait2) = (gate.wait(), gate.wait());
    let aborted = rt.spawn(async move {
        let _bomb = PanicOnDrop;
        wait1.await;
    });
    let shut = rt.spawn(async move {
        let _bomb = PanicOnDrop;
        wait2.await;
    });
    rt.run_until_idle();
    aborted.abort();
    rt.run_until_idle();
    rt.shutdown();
    assert!(join(aborted).unwrap_err().is_cancelled());
    assert!(join(shut).unwrap_err().is_cancelled());
}

/// Ready with 5 at once; panics when dropped afterwards.
struct ReadyThenPanicOnDrop;

impl Future for ReadyThenPanicOnDrop {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(5)
    }
}

impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panic after ready");
    }
}

#[test]
fn panic_in_future_destructor_after_ready_keeps_the_output() {
    // Proves: when a finished future panics while being dropped, the output it
    // returned is still stored and delivered.
    let rt = Rt::new();
    let handle = rt.spawn(ReadyThenPanicOnDrop);
    rt.run_until_idle();
    assert_eq!(join(handle).unwrap(), 5);
}

/// A waker that panics when woken or dropped.
struct PanickingWaker {
    panic_on_drop: bool,
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        panic!("join waker panic");
    }
}

impl Drop for PanickingWaker {
    fn drop(&mut self) {
        if self.panic_on_drop {
            panic!("join waker drop panic");
        }
    }
}

#[test]
fn panicking_join_waker_does_not_corrupt_the_task() {
    // Proves: a join waker that panics on wake and on drop is caught by the
    // runner; the output is still delivered and everything is freed.
    let rt = Rt::new();
    let drops = Drops::default();
    let gate = Gate::default();
    let (guard, wait) = (drops.guard(), gate.wait());
    let mut handle = rt.spawn(async move {
        wait.await;
        guard
    });
    rt.run_until_idle();
    let waker = Waker::from(Arc::new(PanickingWaker {
        panic_on_drop: true,
    }));
    assert!(poll_with(&mut handle, &waker).is_pending());
    // The task's clone is now the last: it panics when the handle drops it.
    drop(waker);
    gate.open();
    rt.run_until_idle();
    let output = join(handle).unwrap();
    drop(output);
    assert_eq!(drops.count(), 1);
}

/// Output whose destructor panics, counting drops first.
struct PanickingOutput {
    _guard: DropGuard,
}

impl Drop for PanickingOutput {
    fn drop(&mut self) {
        panic!("output destructor panic");
    }
}

#[test]
fn panicking_output_destructor_is_caught_by_runner_and_handle() {
    // Proves: an output that panics when dropped is caught both when the runner
    // drops it (handle already gone) and when the dropped handle does; the drop
    // happens once each and the tasks are freed.
    let rt = Rt::new();
    let drops = Drops::default();
    let (guard1, guard2) = (drops.guard(), drops.guard());
    drop(rt.spawn(async move { PanickingOutput { _guard: guard1 } }));
    let late = rt.spawn(async move { PanickingOutput { _guard: guard2 } });
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    drop(late);
    assert_eq!(drops.count(), 2);
    assert!(rt.0.owned.is_empty());
}

#[test]
fn dropping_handle_before_completion_drops_output_when_task_completes() {
    // Proves: a detached task still runs; its output is dropped by the runner,
    // exactly once, and the allocation is freed (miri checks the leak).
    let rt = Rt::new();
    let drops = Drops::default();
    let gate = Gate::default();
    let (guard, wait) = (drops.guard(), gate.wait());
    let mut handle = rt.spawn(async move {
        wait.await;
        guard
    });
    rt.run_until_idle();
    assert!(poll_join(&mut handle).is_pending());
    drop(handle);
    assert_eq!(drops.count(), 0);
    gate.open();
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
}

#[test]
fn dropping_handle_after_completion_drops_output_immediately() {
    // Proves: when the task finished first, dropping the handle drops the
    // stored output right away, exactly once.
    let rt = Rt::new();
    let drops = Drops::default();
    let guard = drops.guard();
    let handle = rt.spawn(async move { guard });
    rt.run_until_idle();
    assert_eq!(drops.count(), 0);
    drop(handle);
    assert_eq!(drops.count(), 1);
}

#[test]
fn waker_outliving_task_and_registry_wakes_nothing() {
    // Proves: a waker cloned out of a task keeps the allocation alive after the
    // task completed, its handle and registry are dropped; waking it then does
    // nothing and dropping it frees the task.
    let rt = Rt::new();
    let gate = Gate::default();
    let handle = rt.spawn(gate.wait());
    rt.run_until_idle();
    let waker = gate.waker();
    let spare = waker.clone();
    drop(handle);
    drop(rt);
    waker.wake_by_ref();
    waker.wake();
    spare.wake_by_ref();
    drop(spare);
}

/// Spawns a task and wakes another when dropped; for the shutdown test.
struct SpawnAndWakeOnDrop {
    rt: Weak<Shared>,
    _guard: DropGuard,
    wake: Gate,
    spawned: Drops,
}

impl Drop for SpawnAndWakeOnDrop {
    fn drop(&mut self) {
        if let Some(shared) = self.rt.upgrade() {
            let guard = self.spawned.guard();
            let (handle, notified) = shared.owned.bind(
                async move {
                    let _guard = guard;
                },
                Sched(self.rt.clone()),
                None,
            );
            assert!(notified.is_none(), "spawning after close must be refused");
            assert!(join(handle).unwrap_err().is_cancelled());
        }
        if let Some(waker) = self.wake.waker.lock().clone() {
            waker.wake();
        }
    }
}

#[test]
fn close_and_shutdown_all_drops_every_future_once_even_if_drops_spawn_and_wake() {
    // Proves: shutdown drops each idle future exactly once; a destructor that
    // spawns (refused, cancelled at once) and wakes a third task (already or
    // later shut down) does not deadlock or double-drop; every handle resolves
    // to cancelled; the registry is empty and closed afterwards.
    let rt = Rt::new();
    let drops = Drops::default();
    let spawned = Drops::default();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
    // The destructor's task is registered first, so shutdown reaches it while
    // the task it wakes is still idle.
    let bomb = SpawnAndWakeOnDrop {
        rt: Arc::downgrade(&rt.0),
        _guard: drops.guard(),
        wake: gates[1].clone(),
        spawned: spawned.clone(),
    };
    let wait = gates[0].wait();
    let tricky = rt.spawn(async move {
        let _bomb = bomb;
        wait.await;
    });
    let plain: Vec<_> = (1..3)
        .map(|i| {
            let (guard, wait) = (drops.guard(), gates[i].wait());
            rt.spawn(async move {
                let _guard = guard;
                wait.await;
            })
        })
        .collect();
    rt.run_until_idle();
    rt.0.owned.close_and_shutdown_all();
    assert_eq!(drops.count(), 3);
    assert_eq!(spawned.count(), 1);
    assert!(rt.0.owned.is_empty());
    rt.run_until_idle();
    rt.0.owned.close_and_shutdown_all();
    assert_eq!(drops.count(), 3);
    for handle in plain.into_iter().chain([tricky]) {
        assert!(join(handle).unwrap_err().is_cancelled());
    }
}

#[test]
fn shutdown_of_running_task_lets_its_runner_cancel_it() {
    // Proves: shutdown from inside a task's poll (the task is RUNNING) only
    // marks it; the runner drops the future after the poll, exactly once.
    let rt = Rt::new();
    let drops = Drops::default();
    let (guard, weak) = (drops.guard(), Arc::downgrade(&rt.0));
    let handle = rt.spawn(async move {
        let _guard = guard;
        std::future::poll_fn(|_| {
            weak.upgrade().unwrap().owned.close_and_shutdown_all();
            Poll::<()>::Pending
        })
        .await;
    });
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    assert!(join(handle).unwrap_err().is_cancelled());
}

#[test]
fn binds_racing_a_sharded_close_each_run_or_are_cancelled() {
    // Proves: with several shards, tasks bound on other threads while the registry
    // closes each meet one fate: registered before their shard closed (then run, or
    // cancelled by the shutdown), or refused and cancelled at once. None survives in
    // the registry, every future is dropped exactly once, every handle resolves.
    // Steps: two threads bind tasks in a loop; the main thread runs the queue a few
    // times, then closes while they are (probably) still binding.
    let rt = Rt::with_shards(8);
    let drops = Drops::default();
    let per_thread = size(2_000, 20);
    let handles: Vec<JoinHandle<()>> = thread::scope(|scope| {
        let spawners: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    (0..per_thread)
                        .map(|_| {
                            let guard = drops.guard();
                            rt.spawn(async move { drop(guard) })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for _ in 0..size(20, 2) {
            rt.run_until_idle();
            thread::yield_now();
        }
        rt.0.owned.close_and_shutdown_all();
        spawners
            .into_iter()
            .flat_map(|spawner| spawner.join().unwrap())
            .collect()
    });
    assert!(rt.0.owned.is_empty(), "a task survived the close");
    rt.run_until_idle(); // queued before the close: already cancelled, nothing runs
    assert_eq!(drops.count(), 2 * per_thread);
    for handle in handles {
        if let Err(err) = join(handle) {
            assert!(err.is_cancelled());
        }
    }
}

#[test]
fn many_tasks_complete_and_leave_the_registry_empty() {
    // Proves: many tasks, each woken once from outside, all complete with their
    // own outputs and all leave the registry.
    let rt = Rt::new();
    let n = size(10_000, 64);
    let gates: Vec<Gate> = (0..n).map(|_| Gate::default()).collect();
    let handles: Vec<_> = gates
        .iter()
        .enumerate()
        .map(|(i, gate)| {
            let wait = gate.wait();
            rt.spawn(async move {
                wait.await;
                i
            })
        })
        .collect();
    assert_eq!(rt.run_until_idle(), n);
    assert_eq!(rt.0.owned.len(), n);
    gates.iter().for_each(Gate::open);
    assert_eq!(rt.run_until_idle(), n);
    assert!(rt.0.owned.is_empty());
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(join(handle).unwrap(), i);
    }
}

#[test]
fn yield_now_goes_through_the_yield_hook() {
    // Proves: a task that calls `yield_now` is rescheduled once through
    // `Schedule::yield_now`, while an ordinary self-wake uses `schedule`.
    let rt = Rt::new();
    let handle = rt.spawn(async {
        yield_now().await;
        yield_now().await;
        3
    });
    assert_eq!(rt.run_until_idle(), 3);
    assert_eq!(rt.0.yields.load(SeqCst), 2);
    assert_eq!(join(handle).unwrap(), 3);
    let mut woke = false;
    let handle = rt.spawn(std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut woke, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    assert_eq!(rt.run_until_idle(), 2);
    assert_eq!(rt.0.yields.load(SeqCst), 2);
    assert!(join(handle).is_ok());
}

#[test]
fn cancel_with_completes_without_polling() {
    // Proves: `Notified::cancel_with` drops the future unpolled and the handle
    // yields the given error (here: the blocking pool's spawn failure).
    let rt = Rt::new();
    let drops = Drops::default();
    let gate = Gate::default();
    let (guard, wait) = (drops.guard(), gate.wait());
    let handle = rt.spawn(async move {
        let _guard = guard;
        wait.await;
    });
    let notified = rt.pop().unwrap();
    let id = notified.id();
    notified.cancel_with(JoinError::spawn_failed(
        id,
        io::Error::from_raw_os_error(11),
    ));
    assert_eq!((drops.count(), gate.polls()), (1, 0));
    let err = join(handle).unwrap_err();
    assert!(err.is_cancelled());
    assert!(err.to_string().starts_with("task could not start: "));
    assert!(rt.0.owned.is_empty());
}

#[test]
fn local_task_runs_on_its_owner_thread() {
    // Proves: a `!Send` future bound with `bind_local` is polled and completed
    // normally on the thread that bound it.
    let rt = Rt::new();
    let shared = std::rc::Rc::new(5);
    let handle = rt.spawn_local(async move { *shared + 1 });
    rt.run_until_idle();
    assert_eq!(join(handle).unwrap(), 6);
}

#[test]
fn local_task_run_on_foreign_thread_is_cancelled_without_touching_the_future() {
    // Proves: a local task run by another thread is not polled and its future
    // is not dropped there; the handle resolves to cancelled; the future is
    // dropped later, on the owner thread, by the handle that owns the stage.
    // Steps: bind on this thread; run its Notified on a helper thread; check;
    // drop the handle and everything else here.
    let rt = Rt::new();
    let owner = thread::current().id();
    let dropped_on = Arc::new(Mutex::new(None));
    let polled = Arc::new(AtomicBool::new(false));
    let marker = DropRecorder {
        dropped_on: dropped_on.clone(),
        _not_send: std::rc::Rc::new(()),
    };
    let flag = polled.clone();
    let handle = rt.spawn_local(async move {
        let _marker = marker;
        flag.store(true, SeqCst);
    });
    let notified = rt.pop().unwrap();
    thread::spawn(move || notified.run()).join().unwrap();
    assert!(!polled.load(SeqCst));
    assert!(dropped_on.lock().is_none());
    assert!(handle.is_finished());
    assert!(join(handle).unwrap_err().is_cancelled());
    drop(rt);
    assert_eq!(*dropped_on.lock(), Some(owner));
}

/// Records the thread it is dropped on; `!Send` through the `Rc`.
struct DropRecorder {
    dropped_on: Arc<Mutex<Option<thread::ThreadId>>>,
    _not_send: std::rc::Rc<()>,
}

impl Drop for DropRecorder {
    fn drop(&mut self) {
        *self.dropped_on.lock() = Some(thread::current().id());
    }
}

#[test]
fn wake_from_other_thread_while_running_is_not_lost() {
    // Proves (with threads, data races checked under miri): wakes racing with the
    // poll from another thread each lead to a later poll; the task completes.
    // Steps: the task waits for a counter to reach `n`; a helper thread bumps it
    // and wakes the task `n` times while this thread runs the queue.
    let rt = Rt::new();
    let n = size(200, 5);
    let count = Arc::new(AtomicUsize::new(0));
    let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (seen, slot) = (count.clone(), waker_slot.clone());
    let mut handle = rt.spawn(std::future::poll_fn(move |cx| {
        *slot.lock() = Some(cx.waker().clone());
        if seen.load(SeqCst) >= n {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    rt.run_until_idle();
    let waker = waker_slot.lock().clone().unwrap();
    let helper = thread::spawn(move || {
        for _ in 0..n {
            count.fetch_add(1, SeqCst);
            waker.wake_by_ref();
        }
    });
    while !handle.is_finished() {
        rt.run_until_idle();
        thread::yield_now();
    }
    helper.join().unwrap();
    assert!(matches!(poll_join(&mut handle), Poll::Ready(Ok(()))));
    waker_slot.lock().take();
}

#[test]
fn join_handle_awaited_on_other_thread_gets_output() {
    // Proves: the handle moves to another thread, registers its waker there, and
    // is woken when this thread completes the task.
    let rt = Rt::new();
    let gate = Gate::default();
    let wait = gate.wait();
    let handle = rt.spawn(async move {
        wait.await;
        String::from("across")
    });
    rt.run_until_idle();
    let (counter, waker) = CountingWaker::new();
    let waiter = thread::spawn(move || {
        let mut handle = handle;
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = Pin::new(&mut handle).poll(&mut cx) {
                return out.unwrap();
            }
            thread::yield_now();
        }
    });
    gate.open();
    rt.run_until_idle();
    assert_eq!(waiter.join().unwrap(), "across");
    assert!(counter.count() <= 1);
}

#[test]
fn handle_types_have_the_promised_auto_traits() {
    // Proves at compile time: JoinHandle<T> is Send + Sync + Unpin for Send T,
    // Notified and Task are Send, JoinError is an error usable across threads.
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unpin<T: Unpin>() {}
    send::<JoinHandle<String>>();
    sync::<JoinHandle<String>>();
    unpin::<JoinHandle<std::marker::PhantomPinned>>();
    send::<Notified<Sched>>();
    send::<Task<Sched>>();
    sync::<OwnedTasks<Sched>>();
    send::<JoinError>();
    sync::<JoinError>();
}

#[test]
fn debug_output_names_the_types() {
    let rt = Rt::new();
    let handle = rt.spawn(async {});
    assert!(format!("{handle:?}").starts_with("JoinHandle"));
    assert!(format!("{:?}", rt.0.owned).contains("len: 1"));
    let notified = rt.pop().unwrap();
    assert!(format!("{notified:?}").contains("notified: true"));
    notified.run();
}

#[test]
fn task_id_is_set_while_polling_and_dropping_and_matches_the_handle() {
    // Proves: inside a poll and inside the future's destructor run by the runtime,
    // `try_id()` is the task's id; outside, it is `None`; a panic's `JoinError`
    // carries the same id.
    struct SeesId(Arc<Mutex<Option<super::Id>>>);
    impl Drop for SeesId {
        fn drop(&mut self) {
            *self.0.lock() = super::try_id();
        }
    }
    let rt = Rt::new();
    let seen_in_drop = Arc::default();
    let guard = SeesId(Arc::clone(&seen_in_drop));
    let handle = rt.spawn(async move {
        let _guard = guard;
        super::id()
    });
    let other = rt.spawn(async { panic!("boom") });
    assert_ne!(handle.id(), other.id());
    let (id, other_id) = (handle.id(), other.id());
    rt.run_until_idle();
    assert_eq!(super::try_id(), None);
    assert_eq!(*seen_in_drop.lock(), Some(id));
    assert_eq!(join(handle).unwrap(), id);
    let err = join(other).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.id(), other_id);
}

#[test]
fn abort_handle_cancels_and_outlives_the_join_handle() {
    // Proves: an `AbortHandle` holds its own reference: with the `JoinHandle` dropped
    // it still aborts the idle task (the future is dropped once), reports it finished,
    // and freeing it last frees the task.
    let rt = Rt::new();
    let drops = Drops::default();
    let gate = Gate::default();
    let (guard, wait) = (drops.guard(), gate.wait());
    let handle = rt.spawn(async move {
        let _guard = guard;
        wait.await;
    });
    let abort = handle.abort_handle();
    assert_eq!(abort.id(), handle.id());
    drop(handle);
    rt.run_until_idle();
    assert!(!abort.is_finished());
    abort.abort();
    rt.run_until_idle();
    assert_eq!(drops.count(), 1);
    assert!(abort.is_finished());
    assert!(rt.0.owned.is_empty());
    drop(abort);
}
