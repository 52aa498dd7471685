//! Loom models of the multi-thread scheduler's two lock-free protocols: the run queue
//! (the owner's push and pop against a thief's steal, and the overflow to the inject
//! queue) and the parker (park in the driver or on the condvar against unpark: no lost
//! wakeup). Run as `crate::loom` says; the ring has 4 slots under loom.

use std::sync::Arc as StdArc;
use std::time::Duration;

use super::park::{Drive, Interrupt, Parker, SharedDriver};
use super::queue;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::loom::{model, thread};
use crate::scheduler::inject::Inject;

/// Every value in `seen` exactly once: `0..n`.
fn assert_each_once(mut seen: Vec<usize>, n: usize) {
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "a task lost or run twice");
}

// The owner pushes and pops while a thief steals half: every task is taken exactly once,
// by one of them.
#[test]
fn loom_queue_push_pop_vs_steal() {
    model(|| {
        let (steal, mut owner) = queue::local::<usize>();
        let inject = Inject::new();
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::local::<usize>();
            let mut seen: Vec<usize> = steal.steal_into(&mut mine).into_iter().collect();
            seen.extend(std::iter::from_fn(|| mine.pop()));
            seen
        });
        for i in 0..3 {
            owner.push_back_or_overflow(i, &inject);
        }
        let mut seen: Vec<usize> = owner.pop().into_iter().collect();
        seen.extend(thief.join().unwrap());
        seen.extend(std::iter::from_fn(|| owner.pop()));
        seen.extend(inject.take_all());
        assert_each_once(seen, 3);
    });
}

// The owner pushes into a full ring (the new tasks overflow to the inject queue) while a
// thief steals from it: no slot is both overwritten and stolen, nothing is lost.
#[test]
fn loom_queue_overflow_vs_steal() {
    model(|| {
        let (steal, mut owner) = queue::local::<usize>();
        let inject = Arc::new(Inject::new());
        for i in 0..4 {
            owner.push_back_or_overflow(i, &inject);
        }
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::local::<usize>();
            let mut seen: Vec<usize> = steal.steal_into(&mut mine).into_iter().collect();
            seen.extend(std::iter::from_fn(|| mine.pop()));
            seen
        });
        owner.push_back_or_overflow(4, &inject);
        owner.push_back_or_overflow(5, &inject);
        let mut seen = thief.join().unwrap();
        seen.extend(std::iter::from_fn(|| owner.pop()));
        seen.extend(inject.take_all());
        assert_each_once(seen, 6);
    });
}

// Two thieves race for one queue while its owner pops: one steal at a time, nothing twice.
#[test]
fn loom_queue_two_thieves() {
    model(|| {
        let (steal, mut owner) = queue::local::<usize>();
        let inject = Inject::new();
        for i in 0..4 {
            owner.push_back_or_overflow(i, &inject);
        }
        let steal = Arc::new(steal);
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || {
                    let (_, mut mine) = queue::local::<usize>();
                    let mut seen: Vec<usize> = steal.steal_into(&mut mine).into_iter().collect();
                    seen.extend(std::iter::from_fn(|| mine.pop()));
                    seen
                })
            })
            .collect();
        let mut seen: Vec<usize> = owner.pop().into_iter().collect();
        for thief in thieves {
            seen.extend(thief.join().unwrap());
        }
        seen.extend(std::iter::from_fn(|| owner.pop()));
        assert_each_once(seen, 4);
    });
}

/// An eventfd-like stand-in for the reactor: an interrupt is remembered until the next
/// park consumes it, whether it came before the park or during it.
#[derive(Debug)]
struct MockReactor {
    interrupted: Mutex<bool>,
    condvar: Condvar,
}

impl Interrupt for MockReactor {
    fn interrupt(&self) {
        *self.interrupted.lock() = true;
        self.condvar.notify_one();
    }
}

#[derive(Debug)]
struct MockDriver(StdArc<MockReactor>);

impl Drive for MockDriver {
    fn park(&mut self, timeout: Option<Duration>, _scheduler_idle: &dyn Fn() -> bool) {
        let mut interrupted = self.0.interrupted.lock();
        if timeout != Some(Duration::ZERO) {
            while !*interrupted {
                self.0.condvar.wait(&mut interrupted);
            }
        }
        *interrupted = false;
    }

    fn shutdown(&mut self) {}
}

fn shared_driver() -> StdArc<SharedDriver<MockDriver, MockReactor>> {
    let reactor = StdArc::new(MockReactor {
        interrupted: Mutex::new(false),
        condvar: Condvar::new(),
    });
    // The driver's own strong reference keeps the reactor alive for the model.
    StdArc::new(SharedDriver::new(MockDriver(reactor.clone()), &reactor))
}

/// A worker: parks until it sees its work flag (a spurious return just parks again).
fn worker(mut parker: Parker<MockDriver, MockReactor>, work: Arc<AtomicBool>) {
    while !work.load(SeqCst) {
        parker.park(&|| false);
    }
}

// One worker parks (in the driver, the only one free) while another thread sets its work
// flag and unparks it: the worker always wakes (loom reports a deadlock otherwise).
#[test]
fn loom_park_in_driver_vs_unpark() {
    model(|| {
        let parker = Parker::new(shared_driver());
        let unparker = parker.unparker();
        let work = Arc::new(AtomicBool::new(false));
        let worker = {
            let work = work.clone();
            thread::spawn(move || worker(parker, work))
        };
        work.store(true, SeqCst);
        unparker.unpark();
        worker.join().unwrap();
    });
}

// Two workers share one driver, so one parks in it and the other on its condvar (which
// one is up to the schedule); a third thread wakes both: neither wakeup is lost.
#[test]
fn loom_park_driver_and_condvar_vs_unpark() {
    model(|| {
        let driver = shared_driver();
        let (a, b) = (Parker::new(driver.clone()), Parker::new(driver));
        let (wake_a, wake_b) = (a.unparker(), b.unparker());
        let work = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = [a, b]
            .into_iter()
            .map(|parker| {
                let work = work.clone();
                thread::spawn(move || worker(parker, work))
            })
            .collect();
        work.store(true, SeqCst);
        wake_a.unpark();
        wake_b.unpark();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}
