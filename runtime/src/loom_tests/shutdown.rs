//! The graceful shutdown's cross-thread protocol (`scheduler/shutdown_signal.rs`, and the
//! counting in `task/owned.rs`): `begin` racing a `shutdown_started()` waiter, the last
//! task's release racing the shutdown's drained wait, and an outside spawn racing the
//! gate and the counted close while its task completes on another thread.

use std::future::poll_fn;

use loom::future::block_on;

use super::Sched;
use crate::loom::model;
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::scheduler::shutdown_signal::ShutdownSignal;

/// A waiter polling `shutdown_started` while another thread begins the shutdown is always
/// woken (loom fails the model as a deadlock otherwise), and leaves no entry behind.
#[test]
fn loom_begin_wakes_a_racing_started_waiter() {
    model(|| {
        let signal = Arc::new(ShutdownSignal::new());
        let beginner = {
            let signal = signal.clone();
            thread::spawn(move || assert!(signal.begin()))
        };
        let mut key = None;
        block_on(poll_fn(|cx| signal.poll_started(cx, &mut key)));
        assert_eq!(key, None, "a woken waiter keeps no entry");
        beginner.join().unwrap();
        assert!(signal.is_started() && !signal.begin());
    });
}

/// Two tasks leave the registry on two threads while the shutdown begins and waits for
/// it to drain: whichever order the releases, the `started` flag and the wait take, the
/// wait completes (the last release finds the stored waker, or the wait sees it empty).
#[test]
fn loom_the_last_release_wakes_the_drained_wait() {
    model(|| {
        let signal = Arc::new(ShutdownSignal::new());
        let live = Arc::new(Mutex::new(2_usize));
        let releasers: Vec<_> = (0..2)
            .map(|_| {
                let (signal, live) = (signal.clone(), live.clone());
                thread::spawn(move || {
                    *live.lock() -= 1; // `OwnedTasks::remove`
                    signal.task_released(|| *live.lock() == 0);
                })
            })
            .collect();
        signal.begin();
        block_on(poll_fn(|cx| signal.poll_drained(cx, || *live.lock() == 0)));
        for releaser in releasers {
            releaser.join().unwrap();
        }
    });
}

/// An outside thread spawns through the gate and runs its task, racing the shutdown's
/// count-begin-close on the main thread. The task is counted at most once, never as
/// `finished` unless its handle got its output, and never at all if it was refused (at the
/// gate, or at a closed shard). Running at the close, it counts as cancelled even if that
/// poll then completes it: that is why the real shutdown stops its workers first (see
/// `Spawner::stop_workers_keeping_tasks`); here the race is kept to check the rest.
#[test]
fn loom_an_outside_spawn_racing_the_count_is_counted_at_most_once() {
    model(|| {
        let sched = Sched::with_shards(2);
        let signal = Arc::new(ShutdownSignal::new());
        let outside = {
            let (sched, signal) = (sched.clone(), signal.clone());
            thread::spawn(move || {
                if signal.is_started() {
                    return None; // the gate refuses
                }
                let join = sched.spawn(async { 7 });
                sched.run_all();
                Some(join)
            })
        };
        let completed_before = sched.0.owned.completed();
        signal.begin();
        let count = sched.0.owned.close_and_count_all(completed_before);
        let admitted = outside.join().unwrap();
        let (finished, cancelled) = (count.finished, count.cancelled);
        match admitted.map(block_on) {
            None => assert_eq!((finished, cancelled), (0, 0)),
            Some(Ok(7)) => assert!(finished + cancelled <= 1, "{finished} + {cancelled}"),
            Some(Ok(other)) => panic!("wrong output {other}"),
            Some(Err(err)) => {
                assert!(err.is_cancelled());
                assert_eq!(finished, 0, "a cancelled task counted as finished");
                assert!(cancelled <= 1);
            }
        }
        sched.shutdown();
    });
}

/// The multi-thread flavor's stop for a graceful shutdown: the shutdown sets
/// `keep_tasks_at_stop`, then closes the inject queue; a worker that sees the queue closed
/// also sees the flag, so it never drains (and cancels) the tasks the shutdown will count.
#[test]
fn loom_a_worker_that_sees_the_close_sees_keep_tasks() {
    use crate::loom::sync::atomic::{AtomicBool, Ordering};
    use crate::scheduler::inject::Inject;

    model(|| {
        let keep_tasks = Arc::new(AtomicBool::new(false));
        let inject = Arc::new(Inject::<()>::new());
        let worker = {
            let (keep_tasks, inject) = (keep_tasks.clone(), inject.clone());
            thread::spawn(move || {
                while !inject.is_closed() {
                    thread::yield_now();
                }
                assert!(keep_tasks.load(Ordering::Acquire), "the worker would drain");
            })
        };
        keep_tasks.store(true, Ordering::Release);
        inject.close();
        worker.join().unwrap();
    });
}
