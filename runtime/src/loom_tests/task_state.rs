//! The task state word and the code around it (`task/{state,raw,harness,waker,join}.rs`),
//! driven through the real `OwnedTasks::bind`: a wake from another thread, completion,
//! `JoinHandle` drop, `abort` and shutdown racing one another.
//!
//! Every model checks the same ledger at the end: the future was dropped exactly once,
//! the output (if the task produced one) exactly once, and every task allocation was
//! freed (each holds a clone of the executor's `Arc`, so its count is back to one, and
//! loom reports any `Arc` still alive when the model ends).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;

use super::{Counted, Drops, Sched};
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::task::JoinHandle;

/// Pending on its first poll, which hands its waker to `waker`; then ready with an
/// output whose drop is counted.
struct PendingOnce {
    polled: bool,
    waker: Arc<Mutex<Option<Waker>>>,
    output: Drops,
    _future: Counted,
}

impl Future for PendingOnce {
    type Output = Counted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Counted> {
        if self.polled {
            return Poll::Ready(self.output.guard());
        }
        self.polled = true;
        *self.waker.lock() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The ledger of one task: its future's drops, its output's drops, its waker.
struct Ledger {
    future: Drops,
    output: Drops,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Ledger {
    fn new() -> Ledger {
        Ledger {
            future: Drops::default(),
            output: Drops::default(),
            waker: Arc::new(Mutex::new(None)),
        }
    }

    fn future(&self) -> PendingOnce {
        PendingOnce {
            polled: false,
            waker: self.waker.clone(),
            output: self.output.clone(),
            _future: self.future.guard(),
        }
    }

    /// The waker the first poll handed out.
    fn take_waker(&self) -> Waker {
        self.waker.lock().take().expect("the task was polled once")
    }

    fn assert_dropped_once(&self, produced_output: bool) {
        assert_eq!(self.future.count(), 1, "the future is dropped exactly once");
        let outputs = usize::from(produced_output);
        assert_eq!(
            self.output.count(),
            outputs,
            "the output is dropped once if made"
        );
    }
}

/// Spawns a `PendingOnce` and polls it once, so it is idle with its waker handed out.
fn spawn_idle(sched: &Sched, ledger: &Ledger) -> (JoinHandle<Counted>, Waker) {
    let join = sched.spawn(ledger.future());
    sched.run_all();
    (join, ledger.take_waker())
}

/// The waker's thread wakes the idle task while the handle's thread drops the handle
/// and the main thread runs the task to completion.
#[test]
fn loom_wake_vs_complete_vs_join_handle_drop() {
    model(|| {
        let sched = Sched::new();
        let ledger = Ledger::new();
        let (join, waker) = spawn_idle(&sched, &ledger);
        let waking = thread::spawn(move || waker.wake());
        let dropping = thread::spawn(move || drop(join));
        waking.join().unwrap();
        sched.run_all(); // woken, so queued: runs to completion, racing the drop
        dropping.join().unwrap();
        sched.shutdown();
        ledger.assert_dropped_once(true);
    });
}

/// The handle's thread awaits the task (publishing its join waker) while the main thread
/// completes it: the join waker is woken, or `block_on` would never return.
#[test]
fn loom_join_waker_vs_complete() {
    model(|| {
        let sched = Sched::new();
        let ledger = Ledger::new();
        let (join, waker) = spawn_idle(&sched, &ledger);
        let waking = thread::spawn(move || waker.wake());
        let joining = thread::spawn(move || block_on(join).is_ok());
        waking.join().unwrap();
        sched.run_all();
        assert!(joining.join().unwrap(), "not aborted, so it completed");
        sched.shutdown();
        ledger.assert_dropped_once(true);
    });
}

/// A wake, an `abort` plus await, and the main thread's run all race: the task either
/// completes (the handle gets the output) or is cancelled (no output is ever made), and
/// the handle is woken either way.
#[test]
fn loom_wake_vs_abort_vs_complete() {
    model(|| {
        let sched = Sched::new();
        let ledger = Ledger::new();
        let (join, waker) = spawn_idle(&sched, &ledger);
        let waking = thread::spawn(move || waker.wake());
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let aborting = thread::spawn(move || {
            join.abort(); // may queue the task after the main thread's last look
            let result = block_on(join).map(drop);
            finished.store(true, SeqCst);
            result
        });
        waking.join().unwrap();
        sched.run_until(&done);
        let result = aborting.join().unwrap();
        sched.shutdown();
        if let Err(err) = &result {
            assert!(err.is_cancelled());
        }
        ledger.assert_dropped_once(result.is_ok());
    });
}

/// A task that is ready on its first poll: the handle's thread aborts it and drops the
/// handle while the main thread runs it.
#[test]
fn loom_abort_and_join_handle_drop_vs_complete() {
    model(|| {
        let sched = Sched::new();
        let output = Drops::default();
        let future_drops = Drops::default();
        let (made, guard) = (output.clone(), future_drops.guard());
        let join = sched.spawn(async move {
            let _future = guard;
            made.guard()
        });
        let aborting = thread::spawn(move || {
            join.abort();
            drop(join);
        });
        sched.run_all();
        aborting.join().unwrap();
        sched.run_all(); // the abort may have queued the task after that run
        sched.shutdown();
        assert_eq!(future_drops.count(), 1);
        assert!(output.count() <= 1, "the output is dropped at most once");
    });
}

/// Registry shutdown (the runtime dropping) races a wake and a `JoinHandle` drop on an
/// idle task: the future is dropped once, by exactly one of them, and nothing leaks.
#[test]
fn loom_shutdown_vs_wake_vs_join_handle_drop() {
    model(|| {
        let sched = Sched::new();
        let ledger = Ledger::new();
        let (join, waker) = spawn_idle(&sched, &ledger);
        let waking = thread::spawn(move || waker.wake());
        let joining = thread::spawn(move || block_on(join).map(drop));
        sched.0.owned.close_and_shutdown_all();
        waking.join().unwrap();
        sched.run_all(); // a wake queued before the shutdown finds the task complete
        let result = joining.join().unwrap();
        assert!(result.unwrap_err().is_cancelled());
        sched.shutdown();
        ledger.assert_dropped_once(false);
    });
}
