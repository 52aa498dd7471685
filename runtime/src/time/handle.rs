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
//!
//! Timers that fire together are woken in deadline order, ties in registration order
//! (each registration takes the next `seq`): the wheel's lists do not keep an order.
//!
//! Deadlines are read on the runtime's [`Clock`], which is virtual while paused; the
//! driver's auto-advance moves it to the next deadline with [`TimerHandle::advance_to_next`].

use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Clock;
use super::wheel::{Key, Wheel};
use crate::reactor;
use crate::wake::wake_caught;

impl Inner {
    /// Adds a timer as the latest registration.
    fn insert(&mut self, deadline: u64, waker: Waker) -> Key {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.wheel.insert(
            deadline,
            Timer {
                deadline,
                seq,
                waker,
            },
        )
    }
}

/// Wakes `fired` (outside the wheel lock) in deadline order, ties in registration order;
/// returns how many.
fn wake_in_order(fired: &mut Vec<Timer>) -> usize {
    let count = fired.len();
    if count > 1 {
        fired.sort_unstable_by_key(|timer| (timer.deadline, timer.seq));
    }
    // Caught: a foreign waker that panics must not stop the driver or the rest of the batch.
    for timer in fired.drain(..) {
        wake_caught(timer.waker);
    }
    count
}

/// Shared side of the timer driver.
#[derive(Debug)]
pub(crate) struct TimerHandle {
    inner: Mutex<Inner>,
    /// Time zero of the wheel.
    origin: Instant,
    reactor: Arc<reactor::ReactorHandle>,
    clock: Arc<Clock>,
}

/// A timer in the wheel, and once fired.
#[derive(Debug)]
pub(crate) struct Timer {
    /// Wheel time (ns) of the deadline.
    deadline: u64,
    /// Registration order, for ties.
    seq: u64,
    waker: Waker,
}

#[derive(Debug)]
struct Inner {
    wheel: Wheel<Timer>,
    /// The `seq` of the next registration.
    next_seq: u64,
    /// The wheel time (ns) the driver is parked until; `u64::MAX` when it is not parked
    /// on a timer, `0` when it is running (and will look at the wheel before parking).
    parked_until: u64,
    /// The runtime has shut down: nothing drives the wheel any more.
    shut_down: bool,
}

impl TimerHandle {
    pub(crate) fn new(reactor: Arc<reactor::ReactorHandle>) -> TimerHandle {
        let unpark: Arc<dyn super::clock::Unpark> = reactor.clone();
        let clock = Arc::new(Clock::new(Arc::downgrade(&unpark)));
        TimerHandle {
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                next_seq: 0,
                parked_until: 0,
                shut_down: false,
            }),
            origin: clock.now(),
            reactor,
            clock,
        }
    }

    /// The runtime's clock.
    pub(crate) fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// The runtime's current time (virtual while paused).
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
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
                if !slot.waker.will_wake(waker) {
                    stale = Some(std::mem::replace(&mut slot.waker, waker.clone()));
                }
                drop(inner);
                drop(stale);
                return;
            }
            stale = inner.wheel.remove(k).map(|timer| timer.waker);
        }
        *key = Some(inner.insert(when, waker.clone()));
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
        let Some(timer) = inner.wheel.remove(k) else {
            return;
        };
        if inner.shut_down {
            drop(inner);
            drop(timer);
            return;
        }
        *key = Some(inner.insert(when, timer.waker));
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

    /// Fires every timer due at `now`; the driver is running again. Returns how many.
    pub(crate) fn process(&self, now: Instant, fired: &mut Vec<Timer>) -> usize {
        let now = self.to_ns(now);
        {
            let mut inner = self.inner.lock();
            inner.parked_until = 0;
            inner.wheel.advance(now, |timer| fired.push(timer));
        }
        wake_in_order(fired)
    }

    /// Fires every timer due at the clock's time, from any thread (`time::advance`);
    /// leaves the driver's park record alone.
    pub(crate) fn fire_due(&self) {
        let mut fired = Vec::new();
        {
            let mut inner = self.inner.lock();
            let now = self.to_ns(self.clock.now());
            inner.wheel.advance(now, |timer| fired.push(timer));
        }
        wake_in_order(&mut fired);
    }

    /// Auto-advance: moves the paused clock to the earliest timer deadline and fires the
    /// timers due then (and only those). Returns how many fired; 0 if there is no timer.
    pub(crate) fn advance_to_next(&self, fired: &mut Vec<Timer>) -> usize {
        {
            let mut inner = self.inner.lock();
            inner.parked_until = 0;
            // `next_wake` may be a cascade point before the earliest deadline; advancing
            // there fires nothing and makes the next answer exact.
            while let Some(at) = inner.wheel.next_wake() {
                if inner.wheel.advance(at, |timer| fired.push(timer)) > 0 {
                    self.clock
                        .advance_to(self.origin + Duration::from_nanos(at));
                    break;
                }
            }
        }
        wake_in_order(fired)
    }

    /// Wakes every timer's waker for the last time (runtime shutdown): sleeps still pending
    /// (on some other executor) are polled again and see the runtime gone.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut inner = self.inner.lock();
            let mut wheel = std::mem::replace(&mut inner.wheel, Wheel::new());
            wheel.advance(u64::MAX, |timer| wakers.push(timer.waker));
            inner.parked_until = u64::MAX;
            inner.shut_down = true;
        }
        wakers.into_iter().for_each(wake_caught);
    }
}
