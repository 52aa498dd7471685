//! Hostile shutdown (issue 10, section 5): a runtime dropped while its tasks' destructors
//! fight back, while other threads spawn onto it, and I/O objects and timers used after
//! it is gone. On both flavors; each case bounds every wait (a hang fails the case, it
//! never blocks the suite).
//!
//! What must hold: the drop finishes (within 5 s, a hang bound) and drops each future
//! exactly once, whatever the destructors do (wake themselves or other tasks, spawn,
//! take a lock another destructor takes); a spawn that races the drop gives a
//! `JoinHandle` that resolves, to the output or to cancelled, and drops its future or
//! closure exactly once; I/O after the runtime is gone returns the runtime's "has shut
//! down" error (`io::ErrorKind::Other`) and a timer polled before its deadline panics with
//! a message saying to keep the runtime alive.

use std::future::{Future, pending};
use std::io::{self, Write};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use runtime::Handle;
use runtime::io::AsyncFd;
use runtime::task::JoinHandle;
use runtime::time::{interval, sleep};
use tests::rt::{DropCounter, WakerSlot, expect_panic, soak, thread_waker, yield_until};
use tests::rt_test;

/// The bound on a runtime drop with hostile destructors.
const DROP_LIMIT: Duration = Duration::from_secs(5);
/// Bound on waiting for one `JoinHandle` or one operation after the drop.
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Polls `future` on this thread (a foreign executor: a parking waker) until it is ready
/// or `limit` passes; `None` on timeout.
fn block_on_bounded<F: Future>(future: F, limit: Duration) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + limit;
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        thread::park_timeout(left.min(Duration::from_millis(10)));
    }
}

/// Drops `rt` on a thread of its own and waits at most `DROP_LIMIT` for it.
fn drop_within_limit(rt: runtime::Runtime, what: &str) {
    let (done, dropped) = mpsc::channel();
    let dropper = thread::spawn(move || {
        drop(rt);
        let _ = done.send(());
    });
    match dropped.recv_timeout(DROP_LIMIT) {
        Ok(()) => dropper.join().expect("the dropping thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(dropper.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: the runtime drop did not finish within {DROP_LIMIT:?}")
        }
    }
}

// ---- hostile destructors --------------------------------------------------------------------

/// What a hostile future's destructor does.
#[derive(Clone, Copy, Debug)]
enum Hostility {
    /// Wakes the waker its own task last polled it with.
    WakeSelf,
    /// Wakes the next task's waker.
    WakeOther,
    /// Spawns a new task (onto the runtime being dropped).
    Spawn,
    /// Takes the shared lock and, holding it, wakes the next task and spawns.
    Lock,
    /// Starts a blocking job (on the pool being shut down).
    SpawnBlocking,
    /// Panics (the runtime catches it; the drop goes on).
    Panic,
    /// Calls `Handle::block_on` on the runtime being dropped: it must panic clearly (the
    /// destructor catches it), never hang.
    BlockOn,
    /// Aborts the next task (which the drop may be dropping at that moment).
    AbortOther,
}

const HOSTILITIES: [Hostility; 8] = [
    Hostility::WakeSelf,
    Hostility::WakeOther,
    Hostility::Spawn,
    Hostility::Lock,
    Hostility::SpawnBlocking,
    Hostility::Panic,
    Hostility::BlockOn,
    Hostility::AbortOther,
];

/// How many of `tasks` hostile futures (by index) have a destructor that spawns a task.
fn spawning(tasks: usize) -> usize {
    (0..tasks)
        .filter(|i| {
            matches!(
                HOSTILITIES[i % HOSTILITIES.len()],
                Hostility::Spawn | Hostility::Lock
            )
        })
        .count()
}

/// How many of `tasks` hostile futures are of `kind`.
fn of_kind(tasks: usize, kind: fn(Hostility) -> bool) -> usize {
    (0..tasks)
        .filter(|i| kind(HOSTILITIES[i % HOSTILITIES.len()]))
        .count()
}

/// What the hostile futures share.
#[derive(Default)]
struct Shared {
    /// Each task's last waker, by index.
    wakers: Vec<WakerSlot>,
    /// Drops of each hostile future, by index.
    drops: Vec<AtomicUsize>,
    /// The lock the `Lock` destructors take.
    lock: Mutex<usize>,
    /// The tasks spawned from destructors: their handles and drop count.
    spawned: Mutex<Vec<JoinHandle<()>>>,
    spawned_drops: DropCounter,
    /// The blocking jobs started from destructors: their handles and closure drops.
    blocking: Mutex<Vec<JoinHandle<()>>>,
    blocking_drops: DropCounter,
    /// What each `BlockOn` destructor's `block_on` did.
    block_ons: Mutex<Vec<String>>,
    /// Each task's abort handle, by index, for `AbortOther`.
    aborts: Mutex<Vec<Option<runtime::task::AbortHandle>>>,
    /// Polls of the hostile futures (the first poll stores the waker).
    polled: AtomicUsize,
}

impl Shared {
    fn new(tasks: usize) -> Arc<Shared> {
        Arc::new(Shared {
            wakers: (0..tasks).map(|_| WakerSlot::new()).collect(),
            aborts: Mutex::new((0..tasks).map(|_| None).collect()),
            drops: (0..tasks).map(|_| AtomicUsize::new(0)).collect(),
            ..Shared::default()
        })
    }

    fn wake(&self, index: usize) {
        if let Some(waker) = self.wakers[index % self.wakers.len()].take() {
            waker.wake();
        }
    }

    /// Spawns a task that would wait forever; it must be cancelled (or refused).
    fn spawn(&self) {
        let guard = self.spawned_drops.guard();
        let handle = runtime::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        self.spawned.lock().unwrap().push(handle);
    }
}

/// Pending forever; its destructor does what its `Hostility` says.
struct Hostile {
    index: usize,
    hostility: Hostility,
    shared: Arc<Shared>,
}

impl Future for Hostile {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let slot = &self.shared.wakers[self.index];
        if !slot.is_filled() {
            self.shared.polled.fetch_add(1, Ordering::SeqCst);
        }
        slot.store(cx.waker());
        Poll::Pending
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.drops[self.index].fetch_add(1, Ordering::SeqCst);
        match self.hostility {
            Hostility::WakeSelf => shared.wake(self.index),
            Hostility::WakeOther => shared.wake(self.index + 1),
            Hostility::Spawn => shared.spawn(),
            Hostility::Lock => {
                let mut held = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
                shared.wake(self.index + 1);
                shared.spawn();
                *held += 1;
            }
            Hostility::SpawnBlocking => {
                let guard = shared.blocking_drops.guard();
                let handle = runtime::spawn_blocking(move || drop(guard));
                shared.blocking.lock().unwrap().push(handle);
            }
            Hostility::Panic => panic!("a hostile destructor panics (expected by this test)"),
            Hostility::BlockOn => {
                let outcome = match Handle::try_current() {
                    Err(err) => format!("no current runtime: {err}"),
                    Ok(handle) => {
                        let call = AssertUnwindSafe(|| handle.block_on(async { 5 }));
                        match std::panic::catch_unwind(call) {
                            Ok(value) => format!("block_on returned {value}"),
                            Err(payload) => tests::rt::panic_message(&*payload),
                        }
                    }
                };
                shared.block_ons.lock().unwrap().push(outcome);
            }
            Hostility::AbortOther => {
                let next = (self.index + 1) % shared.drops.len();
                let abort = shared.aborts.lock().unwrap()[next].take();
                if let Some(abort) = abort {
                    abort.abort();
                }
            }
        }
    }
}

// ---- spawns racing the drop -----------------------------------------------------------------

/// A spawned task's expected output and its handle.
type Spawned = (usize, JoinHandle<usize>);

/// One race: a thread spawns tasks and blocking jobs through a `Handle`, and a task of the
/// runtime spawns children in a loop, while this thread drops the runtime. Returns every
/// handle with its expected output; each future and closure made holds a guard of `drops`.
fn race_one(flavor: tests::rt::Flavor, drops: &DropCounter) -> Vec<Spawned> {
    let rt = flavor.build();
    let handle = rt.handle().clone();
    let start = Arc::new(Barrier::new(2));
    let spawner = {
        let (start, drops) = (start.clone(), drops.clone());
        thread::spawn(move || spawn_burst(&handle, &start, &drops))
    };
    let from_inside = Arc::new(Mutex::new(Vec::new()));
    let (children, guards) = (from_inside.clone(), drops.clone());
    // Running (spawning, yielding) when the drop begins.
    drop(rt.spawn(async move {
        for i in 1_000.. {
            let guard = guards.guard();
            let child = runtime::spawn(async move {
                let _guard = guard;
                runtime::task::yield_now().await;
                i
            });
            children.lock().unwrap().push((i, child));
            runtime::task::yield_now().await;
        }
    }));
    start.wait();
    drop(rt);
    let mut handles = spawner.join().expect("the spawning thread");
    handles.append(&mut from_inside.lock().unwrap());
    handles
}

/// Spawns 16 tasks and 4 blocking jobs, alternating, from the moment `start` opens,
/// aborting every third at once.
fn spawn_burst(handle: &Handle, start: &Barrier, drops: &DropCounter) -> Vec<Spawned> {
    start.wait();
    (0..20)
        .map(|i| {
            let guard = drops.guard();
            let join = if i % 5 == 4 {
                handle.spawn_blocking(move || {
                    let _guard = guard;
                    i
                })
            } else {
                handle.spawn(async move {
                    let _guard = guard;
                    runtime::task::yield_now().await;
                    i
                })
            };
            // Aborts race the drop too.
            if i % 3 == 0 {
                join.abort();
            }
            (i, join)
        })
        .collect()
}

// ---- after the runtime is gone ----------------------------------------------------------------

/// Asserts `result` is the runtime's "has shut down" error.
#[track_caller]
fn assert_gone<T: std::fmt::Debug>(result: Option<io::Result<T>>, what: &str) {
    let result = result.unwrap_or_else(|| panic!("{what} hangs after its runtime is gone"));
    let err = result.expect_err(what);
    assert_eq!(err.kind(), io::ErrorKind::Other, "{what}: {err}");
    assert!(err.to_string().contains("has shut down"), "{what}: {err}");
}

/// Asserts `poll` panics with the timer's message (and does not hang).
#[track_caller]
fn assert_timer_panics(what: &str, poll: impl FnOnce() -> Option<()>) {
    let message = expect_panic(poll);
    assert!(
        message.contains("polled after its runtime shut down")
            && message.contains("keep the `Runtime` alive"),
        "{what}: {message}"
    );
}

/// A foreign executor's waker whose `wake` counts, then panics.
struct PanickingWaker(AtomicUsize);

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("a foreign waker panics in wake (expected by this test)");
    }
}

rt_test! {
    // Proves that a task owning its own Runtime, aborted, drops the runtime from inside
    // (in its future's Drop, on a worker or in block_on): the runtime's "dropped from
    // inside itself" panic is caught there, the task's handle resolves cancelled, and the
    // runtime still shuts down: its 10 other pending tasks are each dropped once and their
    // handles resolve cancelled.
    fn aborted_task_that_owns_its_runtime_shuts_it_down(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let drops = DropCounter::new();
        let others: Vec<JoinHandle<()>> = (0..10)
            .map(|_| {
                let guard = drops.guard();
                rt.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await;
                })
            })
            .collect();
        let owner = handle.spawn(async move {
            let _rt = rt;
            pending::<()>().await;
        });
        let owner_result = handle.block_on(async {
            runtime::task::yield_now().await;
            owner.abort();
            owner.await
        });
        assert!(owner_result.unwrap_err().is_cancelled());
        let give_up = Instant::now() + WAIT_LIMIT;
        while drops.count() < 10 && Instant::now() < give_up {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(drops.count(), 10, "the other tasks dropped once each");
        for other in others {
            let result = block_on_bounded(other, WAIT_LIMIT).expect("a handle hangs");
            assert!(result.unwrap_err().is_cancelled());
        }
    }

    // Proves that a runtime dropped with 1,000 pending tasks whose destructors wake
    // themselves, wake another task, spawn, take a shared lock (and, holding it, wake and
    // spawn), start a blocking job, panic, call block_on, or abort another task finishes its drop within 5 s and drops each future exactly once; every
    // task spawned from a destructor is cancelled (its handle resolves cancelled, its
    // future dropped once) instead of panicking the shutdown or leaking; every blocking
    // job started from one resolves and drops its closure once; every block_on in one
    // panics with a message saying why.
    // Steps: 900 tasks are spawned inside block_on and polled once (each stores its
    // waker), 100 more are spawned after it and never polled; the drop runs on its own
    // thread under the 5 s bound; then the counts.
    fn hostile_destructors_are_each_run_once_within_the_drop(flavor) {
        const TASKS: usize = 1_000;
        const POLLED: usize = 900;
        let rt = flavor.build();
        let shared = Shared::new(TASKS);
        let spawn_hostile = |index: usize| Hostile {
            index,
            hostility: HOSTILITIES[index % HOSTILITIES.len()],
            shared: shared.clone(),
        };
        rt.block_on(async {
            for index in 0..POLLED {
                let task = runtime::spawn(spawn_hostile(index));
                shared.aborts.lock().unwrap()[index] = Some(task.abort_handle());
            }
            yield_until(|| shared.polled.load(Ordering::SeqCst) == POLLED).await;
        });
        for index in POLLED..TASKS {
            let task = rt.spawn(spawn_hostile(index));
            shared.aborts.lock().unwrap()[index] = Some(task.abort_handle());
        }
        drop_within_limit(rt, "1,000 hostile destructors");

        let wrong: Vec<(usize, usize)> = (0..TASKS)
            .map(|i| (i, shared.drops[i].load(Ordering::SeqCst)))
            .filter(|&(_, n)| n != 1)
            .collect();
        assert!(wrong.is_empty(), "(task, drops) not dropped exactly once: {wrong:?}");
        let spawners = spawning(TASKS);
        let spawned = std::mem::take(&mut *shared.spawned.lock().unwrap());
        assert_eq!(spawned.len(), spawners, "spawns from destructors that returned");
        let lockers = of_kind(TASKS, |k| matches!(k, Hostility::Lock));
        assert_eq!(*shared.lock.lock().unwrap(), lockers, "Lock destructors done");
        for handle in spawned {
            let result = block_on_bounded(handle, WAIT_LIMIT).expect("a spawned handle hangs");
            assert!(result.unwrap_err().is_cancelled());
        }
        assert_eq!(shared.spawned_drops.count(), spawners, "spawned futures dropped");
        // Blocking jobs started from destructors run or are cancelled; either way their
        // closures are dropped once and their handles resolve.
        let jobs = std::mem::take(&mut *shared.blocking.lock().unwrap());
        let starters = of_kind(TASKS, |k| matches!(k, Hostility::SpawnBlocking));
        assert_eq!(jobs.len(), starters, "spawn_blocking calls from destructors that returned");
        for handle in jobs {
            let result = block_on_bounded(handle, WAIT_LIMIT).expect("a blocking handle hangs");
            assert!(result.is_ok() || result.unwrap_err().is_cancelled());
        }
        assert_eq!(shared.blocking_drops.count(), starters, "blocking closures dropped");
        // block_on inside a destructor during the drop: refused with a clear panic, on the
        // dropping thread (the runtime has shut down) or on a worker (nested runtime).
        let block_ons = std::mem::take(&mut *shared.block_ons.lock().unwrap());
        assert_eq!(block_ons.len(), of_kind(TASKS, |k| matches!(k, Hostility::BlockOn)));
        for outcome in block_ons {
            assert!(
                outcome.contains("has shut down") || outcome.contains("within a runtime"),
                "block_on in a destructor during the drop: {outcome}"
            );
        }
    }

    // Proves that spawn and spawn_blocking racing the runtime's drop never panic, hang or
    // leak: over 1,000 races (soak-scaled), every JoinHandle resolves (awaited, bounded,
    // on a foreign executor or on another runtime) to its output or to cancelled, and
    // every future and closure is dropped exactly once.
    // Steps: per race, a fresh runtime with a task spawning children in a loop; a thread
    // waits at a barrier with this one, then spawns 16 tasks and 4 blocking jobs through a
    // Handle (aborting every third) while this thread drops the runtime; then each handle is awaited (even races
    // on this thread, odd ones in a current-thread runtime's block_on) and the drops
    // counted.
    fn spawns_racing_the_drop_all_resolve(flavor) {
        let races = soak(1_000);
        let joiner = tests::rt::Flavor::CurrentThread.build();
        let (mut finished, mut cancelled) = (0, 0);
        for race in 0..races {
            let drops = DropCounter::new();
            let handles = race_one(flavor, &drops);
            let made = handles.len();
            for (want, handle) in handles {
                // Half the races join on another runtime, half on a foreign executor.
                let result = if race % 2 == 0 {
                    block_on_bounded(handle, WAIT_LIMIT)
                } else {
                    joiner.block_on(async { runtime::time::timeout(WAIT_LIMIT, handle).await.ok() })
                };
                let what = format!("race {race}: the task returning {want}");
                match result.unwrap_or_else(|| panic!("{what} never resolves")) {
                    Ok(value) => {
                        assert_eq!(value, want, "{what}");
                        finished += 1;
                    }
                    Err(err) => {
                        assert!(err.is_cancelled(), "{what}: {err}");
                        cancelled += 1;
                    }
                }
            }
            assert_eq!(drops.count(), made, "race {race}: futures and closures dropped");
        }
        assert!(finished + cancelled >= races * 20);
    }

    // Proves that I/O objects and timers used after their runtime is gone fail clearly and
    // never hang: TCP read and write, UDP send and AsyncFd readiness return the runtime's
    // "has shut down" error (ErrorKind::Other); a sleep registered before the drop, a
    // sleep created before it and first polled after, and an interval's next tick panic
    // with the timer's message. Through a Handle kept past the drop, a new TCP connect and
    // UDP bind get the same error and a new sleep the same panic. Every wait is bounded on
    // a foreign executor.
    fn io_and_timers_after_the_runtime_is_gone_fail_clearly(flavor) {
        let rt = flavor.build();
        let (mut tcp, udp, fd, mut registered, mut unpolled, mut every, peer) =
            rt.block_on(async {
                let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let tcp = net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
                let (peer, _) = listener.accept().await.unwrap();
                let udp = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                udp.connect(udp.local_addr().unwrap()).await.unwrap();
                let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
                ours.set_nonblocking(true).unwrap();
                let fd = AsyncFd::new(ours).unwrap();
                let mut registered = Box::pin(sleep(Duration::from_secs(3600)));
                let first = std::future::poll_fn(|cx| Poll::Ready(registered.as_mut().poll(cx)));
                assert!(first.await.is_pending());
                let unpolled = Box::pin(sleep(Duration::from_secs(3600)));
                let mut every = interval(Duration::from_secs(3600));
                every.tick().await; // the first tick is immediate
                (tcp, udp, (fd, theirs), registered, unpolled, every, peer)
            });
        let kept = rt.handle().clone();
        drop(rt);

        // New I/O objects through a kept Handle: refused with the same error.
        {
            let _enter = kept.enter();
            let addr = peer.local_addr().unwrap();
            let connect = block_on_bounded(net::TcpStream::connect(addr), WAIT_LIMIT);
            assert_gone(connect, "TcpStream::connect after the drop");
            let bind = block_on_bounded(net::UdpSocket::bind("127.0.0.1:0"), WAIT_LIMIT);
            assert_gone(bind, "UdpSocket::bind after the drop");
            assert_timer_panics("a sleep made after the drop", || {
                block_on_bounded(sleep(Duration::from_secs(3600)), WAIT_LIMIT)
            });
        }
        let mut buf = [0u8; 8];
        assert_gone(block_on_bounded(tcp.read(&mut buf), WAIT_LIMIT), "TcpStream read");
        assert_gone(block_on_bounded(tcp.write_all(b"late"), WAIT_LIMIT), "TcpStream write");
        assert_gone(block_on_bounded(udp.send(b"late"), WAIT_LIMIT), "UdpSocket send");
        let (fd, mut theirs) = fd;
        theirs.write_all(b"x").unwrap();
        let ready = block_on_bounded(fd.readable(), WAIT_LIMIT).map(|r| r.map(drop));
        assert_gone(ready, "AsyncFd readable");
        assert_timer_panics("a registered sleep", || {
            block_on_bounded(registered.as_mut(), WAIT_LIMIT)
        });
        assert_timer_panics("a sleep first polled after", || {
            block_on_bounded(unpolled.as_mut(), WAIT_LIMIT)
        });
        assert_timer_panics("an interval tick", || {
            block_on_bounded(every.tick(), WAIT_LIMIT).map(drop)
        });
        // The objects still drop cleanly, outside any runtime.
        drop((tcp, udp, fd, registered, unpolled, every, peer));
    }

    // Proves that the runtime's last wake of the futures still waiting on it (a sleep and
    // a readiness future polled by a foreign executor) cannot break its drop when their
    // waker panics: the drop returns, each waker was woken once, and polled again the
    // futures report the shutdown (the readiness error, the timer's panic).
    fn panicking_foreign_wakers_do_not_break_the_drop(flavor) {
        let rt = flavor.build();
        let probe = Arc::new(PanickingWaker(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(probe.clone());
        let mut cx = Context::from_waker(&waker);
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let (fd, mut asleep) = {
            let _enter = rt.enter();
            (AsyncFd::new(ours).unwrap(), Box::pin(sleep(Duration::from_secs(3600))))
        };
        let mut readable = Box::pin(fd.readable());
        assert!(readable.as_mut().poll(&mut cx).is_pending());
        assert!(asleep.as_mut().poll(&mut cx).is_pending());
        drop_within_limit(rt, "a runtime with panicking foreign wakers");
        assert_eq!(probe.0.load(Ordering::SeqCst), 2, "each foreign waker woken once");
        let ready = block_on_bounded(readable, WAIT_LIMIT).map(|r| r.map(drop));
        assert_gone(ready, "AsyncFd readable woken by the shutdown");
        assert_timer_panics("a sleep woken by the shutdown", || {
            block_on_bounded(asleep.as_mut(), WAIT_LIMIT)
        });
    }

    // Proves that a graceful shutdown's first act, waking every `shutdown_started()`
    // waiter, survives a foreign executor's waker that panics: `shutdown_gracefully`
    // returns its report (the one pending task cancelled at the deadline), the waker was
    // woken once, and the future, polled again, is ready.
    fn panicking_shutdown_started_waker_does_not_break_a_graceful_shutdown(flavor) {
        let rt = flavor.build();
        let probe = Arc::new(PanickingWaker(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(probe.clone());
        let mut started = Box::pin(rt.handle().shutdown_started());
        assert!(started.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        drop(rt.spawn(pending::<()>()));
        let report = rt.shutdown_gracefully(Duration::from_millis(10));
        assert_eq!((report.finished(), report.cancelled()), (0, 1));
        assert_eq!(probe.0.load(Ordering::SeqCst), 1, "the foreign waker was woken once");
        assert_eq!(block_on_bounded(started, WAIT_LIMIT), Some(()));
    }

    // Proves that a foreign thread polling a sleep and a readiness future while the
    // runtime drops never hangs: each wait ends in its result, the readiness error or the
    // timer's panic, over 200 rounds (soak-scaled) with the drop at a varying moment.
    // Steps: per round, a foreign thread loops (a 200 us sleep through a kept Handle, then
    // a byte written to a socket pair and awaited with AsyncFd::readable), each wait
    // bounded; this thread drives the runtime for 0-2 ms, then drops it; the loop must end
    // with the runtime's error or panic.
    fn foreign_pollers_racing_the_drop_never_hang(flavor) {
        let mut lcg = tests::rt::Lcg::new(7);
        for round in 0..soak(200) {
            let rt = flavor.build();
            let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            ours.set_nonblocking(true).unwrap();
            let fd = {
                let _enter = rt.enter();
                AsyncFd::new(ours).unwrap()
            };
            let handle = rt.handle().clone();
            let go = Arc::new(Barrier::new(2));
            let start = go.clone();
            let poller = thread::spawn(move || {
                start.wait();
                poll_until_gone(&handle, &fd, &theirs)
            });
            go.wait();
            let drive_for = Duration::from_micros(lcg.below(2_000));
            rt.block_on(async move { sleep(drive_for).await });
            drop(rt);
            let ended = poller.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            assert!(ended.contains("shut down"), "round {round}: {ended}");
        }
    }
}

/// Sleeps and awaits readiness in turn, on this (foreign) thread, until one of them
/// reports the runtime gone; returns how it was reported. Panics if a wait hangs.
fn poll_until_gone(
    handle: &Handle,
    fd: &AsyncFd<std::os::unix::net::UnixStream>,
    peer: &std::os::unix::net::UnixStream,
) -> String {
    loop {
        let slept = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _enter = handle.enter();
            block_on_bounded(sleep(Duration::from_micros(200)), WAIT_LIMIT)
        }));
        match slept {
            Ok(Some(())) => {}
            Ok(None) => panic!("a sleep hangs while its runtime drops"),
            Err(payload) => return tests::rt::panic_message(&*payload),
        }
        (&*peer).write_all(b"x").unwrap();
        match block_on_bounded(fd.readable(), WAIT_LIMIT) {
            None => panic!("readiness hangs while its runtime drops"),
            Some(Err(err)) => return err.to_string(),
            Some(Ok(mut guard)) => {
                let mut byte = [0u8; 1];
                assert_eq!(
                    std::io::Read::read(&mut guard.get_inner(), &mut byte).unwrap(),
                    1
                );
                guard.clear_ready();
            }
        }
    }
}

/// Counts its drop, then panics.
struct PanicOnDrop(DropCounter);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        drop(self.0.guard());
        panic!("a blocking job's capture panics in its Drop (expected by this test)");
    }
}

rt_test! {
    // Proves that a queued spawn_blocking job whose closure's captures panic when dropped
    // unrun at the runtime's drop is cancelled cleanly: the drop returns (after the busy
    // job, which finishes), the capture is dropped once, and the job's handle resolves
    // cancelled. One blocking thread, held by a job waiting for a channel, so the second
    // job stays queued.
    fn queued_blocking_job_with_a_panicking_capture_is_cancelled_at_the_drop(flavor) {
        let rt = flavor.builder().max_blocking_threads(1).build().unwrap();
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel::<()>();
        let busy = rt.spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = held.recv_timeout(Duration::from_millis(200));
        });
        running.recv_timeout(WAIT_LIMIT).expect("the busy job started");
        let drops = DropCounter::new();
        let bomb = PanicOnDrop(drops.clone());
        let queued = rt.spawn_blocking(move || {
            let _bomb = bomb;
        });
        drop_within_limit(rt, "a runtime with a queued panicking blocking job");
        drop(release);
        assert_eq!(drops.count(), 1, "the queued job's capture dropped once");
        let result = block_on_bounded(queued, WAIT_LIMIT).expect("the queued handle hangs");
        assert!(result.unwrap_err().is_cancelled());
        assert!(block_on_bounded(busy, WAIT_LIMIT).expect("the busy handle hangs").is_ok());
    }
}

rt_test! {
    // Proves that two runtimes dropped at the same moment on two threads, whose tasks'
    // destructors wake tasks of the other runtime (scheduling into a runtime that is
    // shutting down, or already gone), both finish within 5 s and drop each future once;
    // 100 rounds (soak-scaled) of 2 x 50 tasks.
    fn runtimes_dropped_together_waking_each_other_in_destructors(flavor) {
        const TASKS: usize = 50;
        for round in 0..soak(100) {
            let shared = [Shared::new(TASKS), Shared::new(TASKS)];
            let runtimes = [flavor.build(), flavor.build()];
            for (side, rt) in runtimes.iter().enumerate() {
                let (mine, theirs) = (shared[side].clone(), shared[1 - side].clone());
                let polled = mine.clone();
                rt.block_on(async move {
                    for index in 0..TASKS {
                        drop(runtime::spawn(CrossWaker {
                            index,
                            mine: mine.clone(),
                            theirs: theirs.clone(),
                        }));
                    }
                    yield_until(|| polled.polled.load(Ordering::SeqCst) == TASKS).await;
                });
            }
            let go = Arc::new(Barrier::new(2));
            let droppers: Vec<_> = runtimes
                .into_iter()
                .map(|rt| {
                    let go = go.clone();
                    thread::spawn(move || {
                        go.wait();
                        drop_within_limit(rt, "a runtime dropped beside another");
                    })
                })
                .collect();
            for dropper in droppers {
                dropper.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            for (side, shared) in shared.iter().enumerate() {
                let counts: Vec<usize> =
                    shared.drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
                assert!(counts.iter().all(|&n| n == 1), "round {round}, side {side}: {counts:?}");
            }
        }
    }
}

/// Pending forever, its waker stored in `mine`; its destructor wakes the task of the same
/// index in the other runtime (`theirs`).
struct CrossWaker {
    index: usize,
    mine: Arc<Shared>,
    theirs: Arc<Shared>,
}

impl Future for CrossWaker {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let slot = &self.mine.wakers[self.index];
        if !slot.is_filled() {
            self.mine.polled.fetch_add(1, Ordering::SeqCst);
        }
        slot.store(cx.waker());
        Poll::Pending
    }
}

impl Drop for CrossWaker {
    fn drop(&mut self) {
        self.mine.drops[self.index].fetch_add(1, Ordering::SeqCst);
        self.theirs.wake(self.index);
    }
}
