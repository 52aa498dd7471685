//! Tests of the blocking pool: the protocol's transitions alone, then whole pools.
//!
//! No test asserts elapsed time. Waits for something that must happen are bounded by
//! `LIMIT`, which only a broken pool reaches; that turns a hang into a failure.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::*;

/// Far longer than anything here takes on a loaded machine.
const LIMIT: Duration = Duration::from_secs(5);

/// An arbitrary errno; the pool must hand it back unchanged.
const REFUSED_ERRNO: i32 = 11;

thread_local! {
    /// Makes `spawn_unless_refused` fail on this thread (the one calling `spawn`).
    static REFUSE_THREADS: Cell<bool> = const { Cell::new(false) };
}

fn spawn_unless_refused(
    builder: thread::Builder,
    main: Box<dyn FnOnce() + Send>,
) -> io::Result<JoinHandle<()>> {
    if REFUSE_THREADS.get() {
        return Err(io::Error::from_raw_os_error(REFUSED_ERRNO));
    }
    builder.spawn(main)
}

fn pool(max_threads: usize, keep_alive: Duration) -> BlockingPool {
    BlockingPool::new(Config {
        max_threads,
        keep_alive,
        spawn_thread: spawn_unless_refused,
        ..Config::default()
    })
}

fn spawn(spawner: &Spawner, f: impl FnOnce() + Send + 'static) {
    if let Err((_, error)) = spawner.spawn(Box::new(f)) {
        panic!("spawn failed: {error}");
    }
}

/// Polls `cond` until it holds; panics after `LIMIT`.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Holds jobs until opened. `wait` gives up after `limit` so no test thread outlives it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }

    fn wait(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut open = self.open.lock();
        while !*open && !self.opened.wait_until(&mut open, deadline).timed_out() {}
    }
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Opens its gate when dropped, then sets its flag (the field's own drop).
struct OpenOnDrop(
    Arc<Gate>,
    #[expect(dead_code, reason = "held for its Drop")] DropFlag,
);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

// ---- The protocol's transitions, step by step ----

#[test]
fn spawn_reserves_an_idle_thread_instead_of_starting_one() {
    // Proves: a job placed while a thread idles moves it from idle to notified.
    let mut state = State::new();
    state.num_threads = 1;
    state.transition_to_idle();
    assert_eq!(state.transition_to_placed(4), Placement::WakeIdle);
    assert_eq!((state.num_idle, state.num_notified), (0, 1));
    // A second job finds nobody idle, so it needs a thread of its own.
    assert_eq!(state.transition_to_placed(4), Placement::StartThread);
}

#[test]
fn thread_timing_out_after_being_reserved_takes_the_job() {
    // Proves the stranded-job race is closed. Steps:
    // 1. the only thread idles; its keep-alive timeout fires, but before it gets the lock,
    // 2. spawn reserves it and queues a job;
    // 3. the thread gets the lock with `timed_out` set: it must go to the queue, not exit.
    let mut state = State::new();
    state.num_threads = 1;
    state.transition_to_idle();
    assert_eq!(state.transition_to_placed(1), Placement::WakeIdle);
    state.queue.push_back(Box::new(|| {}));
    assert_eq!(state.transition_from_wait(true), Wakeup::Work);
    assert_eq!((state.num_idle, state.num_notified), (0, 0));
}

#[test]
fn thread_whose_reservation_was_taken_waits_again_still_idle() {
    // Proves threads are interchangeable: with two idle threads and one reservation, the
    // timing-out thread takes the reservation; the notified one finds none and waits on,
    // still counted idle, so the counts stay true.
    let mut state = State::new();
    state.num_threads = 2;
    state.transition_to_idle();
    state.transition_to_idle();
    assert_eq!(state.transition_to_placed(2), Placement::WakeIdle);
    state.queue.push_back(Box::new(|| {}));
    assert_eq!(state.transition_from_wait(true), Wakeup::Work);
    state.queue.clear();
    assert_eq!(state.transition_from_wait(false), Wakeup::Wait);
    assert_eq!((state.num_idle, state.num_notified), (1, 0));
}

#[test]
fn unreserved_thread_exits_on_timeout_or_shutdown_only() {
    // Proves an idle thread leaves `num_idle` exactly when it decides to exit.
    let mut state = State::new();
    state.num_threads = 1;
    state.transition_to_idle();
    assert_eq!(state.transition_from_wait(false), Wakeup::Wait);
    assert_eq!(state.transition_from_wait(true), Wakeup::Exit);
    state.transition_to_exited();
    assert_eq!((state.num_threads, state.num_idle), (0, 0));

    let mut state = State::new();
    state.num_threads = 1;
    state.transition_to_idle();
    state.shutdown = true;
    assert_eq!(state.transition_from_wait(false), Wakeup::Exit);
    assert_eq!(state.transition_to_placed(1), Placement::Rejected);
}

#[test]
fn spawn_queues_when_every_thread_is_busy_at_the_cap() {
    let mut state = State::new();
    state.num_threads = 2;
    assert_eq!(state.transition_to_placed(2), Placement::Queue);
}

// ---- Whole pools ----

#[test]
fn threads_start_on_demand_up_to_max_threads() {
    // Proves: 5 blocked jobs on a pool of 3 start exactly 3 threads and queue 2;
    // once released, all 5 run on those 3 threads.
    let pool = pool(3, LIMIT);
    let spawner = pool.spawner();
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::channel();
    for _ in 0..5 {
        let (gate, tx) = (gate.clone(), tx.clone());
        spawn(spawner, move || {
            gate.wait(LIMIT);
            tx.send(thread::current().id()).unwrap();
        });
    }
    wait_until("3 threads take 3 jobs", || spawner.queue_depth() == 2);
    assert_eq!(spawner.num_threads(), 3);
    assert_eq!(spawner.num_idle(), 0);
    gate.open();
    let ids: HashSet<_> = (0..5).map(|_| rx.recv_timeout(LIMIT).unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(spawner.num_threads(), 3);
}

#[test]
fn idle_thread_is_reused_before_a_new_one_starts() {
    // Proves: a job spawned while a thread idles runs on that thread.
    let pool = pool(4, LIMIT);
    let spawner = pool.spawner();
    let (tx, rx) = mpsc::channel();
    let mut ids = HashSet::new();
    for _ in 0..3 {
        let tx = tx.clone();
        spawn(spawner, move || tx.send(thread::current().id()).unwrap());
        ids.insert(rx.recv_timeout(LIMIT).unwrap());
        wait_until("the thread idles", || spawner.num_idle() == 1);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(spawner.num_threads(), 1);
}

#[test]
fn idle_threads_exit_after_keep_alive() {
    // Proves: with nothing to do, the thread count returns to 0, and the pool then
    // starts threads again as needed.
    let pool = pool(4, Duration::from_millis(10));
    let spawner = pool.spawner();
    for _ in 0..2 {
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            let tx = tx.clone();
            spawn(spawner, move || tx.send(()).unwrap());
        }
        (0..3).for_each(|_| rx.recv_timeout(LIMIT).unwrap());
        wait_until("idle threads exit", || spawner.num_threads() == 0);
        assert_eq!(spawner.num_idle(), 0);
    }
}

#[test]
fn no_stranded_job_when_spawn_races_keep_alive_expiry() {
    // Proves: a job queued just as an idle thread's keep-alive expires still runs.
    // Each round: 1. 1 to 3 threads run jobs and go idle with a 1 ms keep-alive;
    // 2. the test sleeps about that long, a little more or less each round, so that
    // 3. its spawns land just before, at, or just after the threads time out.
    // A pool where spawn counts on an idle thread that then exits leaves a job queued with
    // no thread to run it; that round never finishes and `recv_timeout` fails.
    const ROUNDS: usize = 600;
    let pool = pool(3, Duration::from_millis(1));
    let spawner = pool.spawner();
    let (tx, rx) = mpsc::channel();
    let mut ran = 0;
    for round in 0..ROUNDS {
        let jobs = 1 + round % 3;
        for _ in 0..jobs {
            let tx = tx.clone();
            spawn(spawner, move || tx.send(()).unwrap());
        }
        for _ in 0..jobs {
            rx.recv_timeout(LIMIT)
                .unwrap_or_else(|_| panic!("round {round}: a job was stranded"));
            ran += 1;
        }
        let jitter = (round * 97 % 13) as u64 * 50;
        thread::sleep(Duration::from_micros(700 + jitter));
    }
    assert_eq!(ran, (0..ROUNDS).map(|round| 1 + round % 3).sum::<usize>());
}

#[test]
fn spawns_from_many_threads_all_run() {
    // Proves: the spawner is shared across threads and concurrent spawns lose no job,
    // with threads starting, idling and expiring all the while.
    let pool = pool(4, Duration::from_millis(1));
    let ran = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..4)
        .map(|_| {
            let (spawner, ran) = (pool.spawner().clone(), ran.clone());
            thread::spawn(move || {
                for i in 0..200 {
                    let ran = ran.clone();
                    spawn(&spawner, move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                    if i % 20 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    spawners.into_iter().for_each(|t| t.join().unwrap());
    wait_until("every job runs", || ran.load(Ordering::SeqCst) == 800);
}

#[test]
fn panicking_job_leaves_its_thread_serving() {
    // Proves: a panic in a job is caught; the same thread runs the next job and the
    // count is unchanged.
    let pool = pool(1, LIMIT);
    let spawner = pool.spawner();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    spawn(spawner, move || {
        tx2.send(thread::current().id()).unwrap();
        panic!("a job panics (expected by this test)");
    });
    let first = rx.recv_timeout(LIMIT).unwrap();
    spawn(spawner, move || tx.send(thread::current().id()).unwrap());
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), first);
    assert_eq!(spawner.num_threads(), 1);
}

#[test]
fn job_may_spawn_jobs_and_read_counts() {
    // Proves: no lock is held while a job runs, or this job would deadlock.
    let pool = pool(2, LIMIT);
    let spawner = pool.spawner().clone();
    let (tx, rx) = mpsc::channel();
    spawn(&spawner.clone(), move || {
        assert_eq!(spawner.num_threads(), 1);
        spawn(&spawner, move || tx.send(()).unwrap());
    });
    rx.recv_timeout(LIMIT).unwrap();
}

#[test]
fn failed_first_thread_returns_the_job_and_the_os_error() {
    // Proves: with no thread to run it, a job whose thread the OS refuses comes back
    // unrun with the OS error unchanged, and the pool works once the OS relents.
    let pool = pool(2, LIMIT);
    let spawner = pool.spawner();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    REFUSE_THREADS.set(true);
    let Err((job, error)) = spawner.spawn(Box::new(move || flag.store(true, Ordering::SeqCst)))
    else {
        panic!("spawn succeeded with threads refused");
    };
    assert_eq!(error.raw_os_error(), Some(REFUSED_ERRNO));
    assert_eq!(spawner.num_threads(), 0);
    assert_eq!(spawner.queue_depth(), 0);
    REFUSE_THREADS.set(false);
    job.run();
    assert!(
        ran.load(Ordering::SeqCst),
        "the job handed back is the one spawned"
    );
    let (tx, rx) = mpsc::channel();
    spawn(spawner, move || tx.send(()).unwrap());
    rx.recv_timeout(LIMIT).unwrap();
    assert_eq!(spawner.num_threads(), 1);
}

#[test]
fn failed_extra_thread_leaves_the_job_for_a_busy_thread() {
    // Proves: when the OS refuses a thread while another is busy, spawn succeeds, the job
    // waits in the queue and the busy thread runs it; later spawns start threads again.
    let pool = pool(2, LIMIT);
    let spawner = pool.spawner();
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::channel();
    let (gate2, tx2) = (gate.clone(), tx.clone());
    spawn(spawner, move || {
        gate2.wait(LIMIT);
        tx2.send(thread::current().id()).unwrap();
    });
    wait_until("the first job starts", || spawner.queue_depth() == 0);
    REFUSE_THREADS.set(true);
    let tx2 = tx.clone();
    spawn(spawner, move || tx2.send(thread::current().id()).unwrap());
    REFUSE_THREADS.set(false);
    assert_eq!((spawner.num_threads(), spawner.queue_depth()), (1, 1));
    gate.open();
    let busy = rx.recv_timeout(LIMIT).unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), busy);

    let gate = Arc::new(Gate::default());
    for _ in 0..2 {
        let (gate, tx) = (gate.clone(), tx.clone());
        spawn(spawner, move || {
            gate.wait(LIMIT);
            tx.send(thread::current().id()).unwrap();
        });
    }
    assert_eq!(spawner.num_threads(), 2, "starting threads works again");
    gate.open();
    for _ in 0..2 {
        rx.recv_timeout(LIMIT).unwrap();
    }
}

#[test]
fn threads_carry_the_configured_name_and_run_the_hooks() {
    // Proves: thread names come from `thread_name`, and each thread runs `after_start`
    // once before its jobs and `before_stop` once after, also when a hook panics.
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let mut pool = BlockingPool::new(Config {
        max_threads: 2,
        thread_name: Arc::new(|| String::from("blocking-test")),
        after_start: Some(Arc::new(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })),
        before_stop: Some(Arc::new(move || {
            t.fetch_add(1, Ordering::SeqCst);
            panic!("before_stop panics (expected by this test)");
        })),
        ..Config::default()
    });
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::channel();
    for _ in 0..2 {
        let (gate, tx, started) = (gate.clone(), tx.clone(), started.clone());
        spawn(pool.spawner(), move || {
            let name = thread::current().name().map(String::from);
            tx.send((name, started.load(Ordering::SeqCst) > 0)).unwrap();
            gate.wait(LIMIT);
        });
    }
    for _ in 0..2 {
        let (name, after_start_ran) = rx.recv_timeout(LIMIT).unwrap();
        assert_eq!(name.as_deref(), Some("blocking-test"));
        assert!(after_start_ran);
    }
    gate.open();
    pool.shutdown(None);
    assert_eq!(started.load(Ordering::SeqCst), 2);
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
}

#[test]
fn shutdown_joins_every_thread() {
    // Proves: shutdown(None) waits for running jobs, and the counts return to 0.
    let mut pool = pool(4, LIMIT);
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let done = done.clone();
        spawn(pool.spawner(), move || {
            thread::sleep(Duration::from_millis(20));
            done.fetch_add(1, Ordering::SeqCst);
        });
    }
    // Jobs still queued at shutdown are dropped, so wait until each thread took one.
    wait_until("every job starts", || pool.spawner().queue_depth() == 0);
    pool.shutdown(None);
    assert_eq!(done.load(Ordering::SeqCst), 4);
    let spawner = pool.spawner();
    assert_eq!((spawner.num_threads(), spawner.num_idle()), (0, 0));
}

#[test]
fn shutdown_drops_queued_jobs_unrun() {
    // Proves: a job no thread started is dropped by shutdown, never run. Steps:
    // 1. job A holds the only thread until the gate opens;
    // 2. job B waits in the queue; dropping it opens the gate;
    // 3. shutdown drops B (opening the gate), A finishes, its thread exits, shutdown returns.
    let mut pool = pool(1, LIMIT);
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::channel();
    let gate_a = gate.clone();
    spawn(pool.spawner(), move || {
        tx.send(()).unwrap();
        gate_a.wait(LIMIT);
    });
    rx.recv_timeout(LIMIT).unwrap();

    let (ran, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let guard = OpenOnDrop(gate, DropFlag(dropped.clone()));
    let ran_b = ran.clone();
    spawn(pool.spawner(), move || {
        let _guard = guard;
        ran_b.store(true, Ordering::SeqCst);
    });
    assert_eq!(pool.spawner().queue_depth(), 1);
    pool.shutdown(None);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(pool.spawner().num_threads(), 0);
}

#[test]
fn spawn_after_shutdown_hands_the_job_back() {
    let mut pool = pool(1, LIMIT);
    pool.shutdown(None);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let Err((job, error)) = pool
        .spawner()
        .spawn(Box::new(move || flag.store(true, Ordering::SeqCst)))
    else {
        panic!("spawn succeeded after shutdown");
    };
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert_eq!(error.to_string(), "runtime is shutting down");
    job.run();
    assert!(ran.load(Ordering::SeqCst));
    pool.shutdown(None);
    assert_eq!(pool.spawner().num_threads(), 0);
}

#[test]
fn shutdown_timeout_detaches_a_stuck_thread() {
    // Proves: shutdown returns at its deadline while a job is still running, and the
    // detached thread later finishes that job and exits on its own. Steps:
    // 1. a job blocks for up to 10 s on a gate;
    // 2. shutdown with a 50 ms timeout returns with the job still unfinished;
    // 3. opening the gate lets the detached thread finish, and the count drops to 0.
    let mut pool = pool(2, LIMIT);
    let spawner = pool.spawner().clone();
    let gate = Arc::new(Gate::default());
    let finished = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (gate2, finished2) = (gate.clone(), finished.clone());
    spawn(&spawner, move || {
        tx.send(()).unwrap();
        gate2.wait(Duration::from_secs(10));
        finished2.store(true, Ordering::SeqCst);
    });
    rx.recv_timeout(LIMIT).unwrap();
    pool.shutdown(Some(Duration::from_millis(50)));
    assert!(
        !finished.load(Ordering::SeqCst),
        "shutdown waited for the stuck job"
    );
    assert_eq!(
        spawner.num_threads(),
        1,
        "the detached thread still runs its job"
    );
    drop(pool); // A second shutdown, without timeout, does not wait for it either.
    assert!(!finished.load(Ordering::SeqCst));
    gate.open();
    wait_until("the detached thread exits", || spawner.num_threads() == 0);
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn shutdown_from_a_pool_thread_does_not_wait_for_itself() {
    // Proves: dropping the pool inside one of its own jobs returns instead of waiting
    // for the calling thread to exit, which it never could.
    let pool = Arc::new(Mutex::new(Some(pool(2, LIMIT))));
    let spawner = pool.lock().as_ref().unwrap().spawner().clone();
    let (tx, rx) = mpsc::channel();
    let slot = pool.clone();
    spawn(&spawner, move || {
        let pool = slot.lock().take().unwrap();
        drop(pool);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(LIMIT)
        .expect("shutdown waited for its own thread");
    wait_until("the calling thread exits", || spawner.num_threads() == 0);
}

#[test]
fn panicking_drop_of_a_queued_job_is_resumed_after_shutdown_completes() {
    // Proves: a queued job whose Drop panics does not stop the other queued jobs from
    // being dropped nor the threads from being joined; the panic surfaces afterwards.
    // Steps: 1. job A holds the only thread until the gate opens; 2. job P, whose Drop
    // panics, and job G, whose Drop opens the gate, wait in the queue; 3. shutdown drops
    // P, then G, then joins A's thread, then resumes P's panic.
    let mut pool = pool(1, LIMIT);
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::channel();
    let gate2 = gate.clone();
    spawn(pool.spawner(), move || {
        tx.send(()).unwrap();
        gate2.wait(LIMIT);
    });
    rx.recv_timeout(LIMIT).unwrap();

    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a job's Drop panics (expected by this test)");
        }
    }
    let panicky = PanicOnDrop;
    spawn(pool.spawner(), move || drop(panicky));
    // Dropped after the panicking one; it lets the running job finish.
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = OpenOnDrop(gate, DropFlag(dropped.clone()));
    spawn(pool.spawner(), move || drop(guard));
    let result = panic::catch_unwind(AssertUnwindSafe(|| pool.shutdown(None)));
    assert!(result.is_err(), "the Drop panic surfaces");
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(pool.spawner().num_threads(), 0);
}

#[test]
fn keep_alive_too_long_for_an_instant_waits_without_overflow() {
    // Proves: `Duration::MAX` as keep-alive or timeout means "forever", not a panic.
    let mut pool = pool(1, Duration::MAX);
    let (tx, rx) = mpsc::channel();
    spawn(pool.spawner(), move || tx.send(()).unwrap());
    rx.recv_timeout(LIMIT).unwrap();
    wait_until("the thread idles", || pool.spawner().num_idle() == 1);
    pool.shutdown(Some(Duration::MAX));
    assert_eq!(pool.spawner().num_threads(), 0);
}

#[test]
#[should_panic(expected = "max_threads must be at least 1")]
fn zero_max_threads_is_refused() {
    let _ = pool(0, LIMIT);
}

#[test]
fn spawner_is_send_sync_and_clone() {
    fn assert_shareable<T: Send + Sync + Clone>() {}
    assert_shareable::<Spawner>();
    fn assert_send<T: Send>() {}
    assert_send::<BlockingPool>();
}
