//! The timer driver's shared state: the wheel of wakers, and the park deadline.
//!
//! # Protocol
//!
//! The driver computes its park timeout from [`TimerHandle::next_wake`], which also records the
//! deadline it will park until, under the wheel lock. A registration from another thread
//! compares its deadline with that record under the same lock and unparks the driver if it
//! is earlier. So either the driver saw the new timer when computing its timeout, or the
//! registering thread sees the driver's park deadline and wakes it: a timer is never
//! missed. Wakers are woken after the lock is released.

use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::wheel::{Key, Wheel};
use crate::reactor;

/// Shared side of the timer driver.
#[derive(Debug)]
pub(crate) struct TimerHandle {
    inner: Mutex<Inner>,
    /// Time zero of the wheel.
    origin: Instant,
    reactor: Arc<reactor::ReactorHandle>,
}

#[derive(Debug)]
struct Inner {
    wheel: Wheel<Waker>,
    /// The wheel time (ns) the driver is parked until; `u64::MAX` when it is not parked
    /// on a timer, `0` when it is running (and will look at the wheel before parking).
    parked_until: u64,
    /// The runtime has shut down: nothing drives the wheel any more.
    shut_down: bool,
}

impl TimerHandle {
    pub(crate) fn new(reactor: Arc<reactor::ReactorHandle>) -> TimerHandle {
        TimerHandle {
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                parked_until: 0,
                shut_down: false,
            }),
            origin: Instant::now(),
            reactor,
        }
    }

    fn to_ns(&self, t: Instant) -> u64 {
        let since = t.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since).unwrap_or(u64::MAX)
    }

    /// Inserts (or updates) the timer in `key` for `deadline`, waking `waker` when it fires.
    ///
    /// # Panics
    ///
    /// After the runtime shut down: the timer could never fire.
    pub(crate) fn register(&self, key: &mut Option<Key>, deadline: Instant, waker: &Waker) {
        let when = self.to_ns(deadline);
        let mut inner = self.inner.lock();
        if inner.shut_down {
            drop(inner);
            panic!(
                "a timer (sleep, timeout or interval) was polled after its runtime shut down; \
                 it can never fire: keep the `Runtime` alive while its timers are in use"
            );
        }
        // Wakers we replace or remove are dropped after the lock: a user waker's `Drop`
        // may touch this timer again.
        let mut stale = None;
        if let Some(k) = *key {
            if inner.wheel.deadline(k) == Some(when) {
                let slot = inner.wheel.get_mut(k).expect("deadline() found the entry");
                if !slot.will_wake(waker) {
                    stale = Some(std::mem::replace(slot, waker.clone()));
                }
                drop(inner);
                drop(stale);
                return;
            }
            stale = inner.wheel.remove(k);
        }
        *key = Some(inner.wheel.insert(when, waker.clone()));
        let unpark = when < inner.parked_until;
        drop(inner);
        drop(stale);
        if unpark {
            self.reactor.unpark();
        }
    }

    /// Moves the timer in `key` to `deadline`, keeping its waker (like tokio's reset): a
    /// task that resets a sleep and returns `Pending` without polling it again is still
    /// woken at the new deadline. A timer that already fired needs nothing: its task was
    /// woken and its next poll registers again.
    pub(crate) fn reschedule(&self, key: &mut Option<Key>, deadline: Instant) {
        let Some(k) = key.take() else {
            return;
        };
        let when = self.to_ns(deadline);
        let mut inner = self.inner.lock();
        let Some(waker) = inner.wheel.remove(k) else {
            return;
        };
        if inner.shut_down {
            drop(inner);
            drop(waker);
            return;
        }
        *key = Some(inner.wheel.insert(when, waker));
        let unpark = when < inner.parked_until;
        drop(inner);
        if unpark {
            self.reactor.unpark();
        }
    }

    /// Cancels the timer in `key`, if it has not fired. O(1).
    pub(crate) fn cancel(&self, key: &mut Option<Key>) {
        if let Some(k) = key.take() {
            let removed = self.inner.lock().wheel.remove(k);
            drop(removed); // after the lock: see `register`
        }
    }

    /// How long the driver may park before a timer is due (`None`: no timer), and records
    /// the park deadline (see the protocol).
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Duration> {
        let mut inner = self.inner.lock();
        let next = inner.wheel.next_wake();
        inner.parked_until = next.unwrap_or(u64::MAX);
        next.map(|at| Duration::from_nanos(at.saturating_sub(self.to_ns(now))))
    }

    /// Fires every timer due at `now`; the driver is running again.
    pub(crate) fn process(&self, now: Instant, fired: &mut Vec<Waker>) {
        let now = self.to_ns(now);
        {
            let mut inner = self.inner.lock();
            inner.parked_until = 0;
            inner.wheel.advance(now, |waker| fired.push(waker));
        }
        for waker in fired.drain(..) {
            waker.wake();
        }
    }

    /// Wakes every timer's waker for the last time (runtime shutdown): sleeps still pending
    /// (on some other executor) are polled again and see the runtime gone.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut inner = self.inner.lock();
            let mut wheel = std::mem::replace(&mut inner.wheel, Wheel::new());
            wheel.advance(u64::MAX, |waker| wakers.push(waker));
            inner.parked_until = u64::MAX;
            inner.shut_down = true;
        }
        for waker in wakers {
            waker.wake();
        }
    }
}
