//! The paused clock's auto-advance handshake (`time/clock.rs`), on the real `Clock`: what
//! keeps the clock still (a hold, a busy worker) going idle never leaves the driver
//! blocked, and the driver never decides to advance while a hold is taken.
//!
//! The driver's side is `Driver::park_paused`'s order, written out over a stand-in
//! reactor (the real one needs a poller): consume a pending unpark (the zero-timeout poll)
//! and start over if there was one, else ask, then block until unparked. A lost poke
//! shows as a loom deadlock.

use std::sync::Weak;

use crate::loom::model;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::loom::thread;
use crate::time::Clock;
use crate::time::clock::Unpark;

/// The reactor's waker: a flag the zero-timeout poll consumes and a blocking poll waits on.
struct MockReactor {
    unparked: Mutex<bool>,
    condvar: Condvar,
}

impl Unpark for MockReactor {
    fn unpark(&self) {
        *self.unparked.lock() = true;
        self.condvar.notify_one();
    }
}

impl MockReactor {
    /// Consumes a pending unpark; returns whether there was one.
    fn poll_zero(&self) -> bool {
        std::mem::replace(&mut *self.unparked.lock(), false)
    }

    fn wait(&self) {
        let mut unparked = self.unparked.lock();
        while !*unparked {
            self.condvar.wait(&mut unparked);
        }
        *unparked = false;
    }
}

/// A paused clock poking `reactor` (kept alive by the caller: the clock's reference is weak).
fn paused_clock(reactor: &std::sync::Arc<MockReactor>) -> Arc<Clock> {
    let unpark: std::sync::Arc<dyn Unpark> = reactor.clone();
    let clock = Arc::new(Clock::new(
        std::sync::Arc::downgrade(&unpark) as Weak<dyn Unpark>
    ));
    clock.pause().unwrap();
    clock
}

/// The driver's parked loop until it decides to advance; `idle` is the scheduler's answer.
fn drive_until_advance(clock: &Clock, reactor: &MockReactor, idle: impl Fn() -> bool) {
    loop {
        if reactor.poll_zero() {
            continue; // back to the scheduler, which parks again
        }
        if clock.may_auto_advance() && idle() {
            return;
        }
        reactor.wait();
    }
}

// A blocking job finishes (releases its hold) while the driver decides: the driver always
// gets to advance, whichever side goes first.
#[test]
fn loom_released_hold_always_reaches_the_driver() {
    model(|| {
        let reactor = std::sync::Arc::new(MockReactor {
            unparked: Mutex::new(false),
            condvar: Condvar::new(),
        });
        let clock = paused_clock(&reactor);
        clock.hold();
        let job = {
            let clock = clock.clone();
            thread::spawn(move || clock.release())
        };
        drive_until_advance(&clock, &reactor, || true);
        job.join().unwrap();
    });
}

// A worker goes idle (a count the scheduler reports, then `poke_if_paused`, as
// `transition_to_parked` does) while a blocking job ends: the driver advances only once
// both are idle, and is never left blocked.
#[test]
fn loom_last_of_a_worker_and_a_job_to_go_idle_wakes_the_driver() {
    model(|| {
        let reactor = std::sync::Arc::new(MockReactor {
            unparked: Mutex::new(false),
            condvar: Condvar::new(),
        });
        let clock = paused_clock(&reactor);
        let busy_workers = Arc::new(AtomicUsize::new(1));
        clock.hold();
        let worker = {
            let (clock, busy) = (clock.clone(), busy_workers.clone());
            thread::spawn(move || {
                busy.fetch_sub(1, SeqCst);
                clock.poke_if_paused();
            })
        };
        let job = {
            let clock = clock.clone();
            thread::spawn(move || clock.release())
        };
        drive_until_advance(&clock, &reactor, || busy_workers.load(SeqCst) == 0);
        assert_eq!(busy_workers.load(SeqCst), 0);
        worker.join().unwrap();
        job.join().unwrap();
    });
}

// A wake from another thread (queue a task, then unpark the reactor) while the scheduler
// parks on a paused clock with auto-advance off: the zero-timeout poll may consume that
// unpark, and must then send the scheduler back to its queue rather than block (the
// release run of `time_paused` once lost this wake).
#[test]
fn loom_wake_consumed_by_the_zero_poll_is_not_lost() {
    model(|| {
        let reactor = std::sync::Arc::new(MockReactor {
            unparked: Mutex::new(false),
            condvar: Condvar::new(),
        });
        let clock = paused_clock(&reactor);
        clock.set_auto_advance(false);
        let queued = Arc::new(AtomicUsize::new(0));
        let waker = {
            let (queued, reactor) = (queued.clone(), reactor.clone());
            thread::spawn(move || {
                queued.store(1, SeqCst);
                reactor.unpark();
            })
        };
        // The scheduler: run the task if queued, else park (as `park_paused`).
        while queued.load(SeqCst) == 0 {
            if reactor.poll_zero() {
                continue;
            }
            assert!(!clock.may_auto_advance(), "auto-advance is off");
            reactor.wait();
        }
        waker.join().unwrap();
    });
}
