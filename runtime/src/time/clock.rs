//! The runtime's clock: the OS clock, or virtual time once paused.
//!
//! Every timer deadline of a runtime (`sleep`, `sleep_until`, `interval`, `timeout`,
//! `Sleep::reset`) and its [`Instant::now`](super::Instant::now) read this clock.
//! Until the clock is first paused, [`Clock::now`] is `std::time::Instant::now()` behind
//! one relaxed load of `is_virtual`: no lock, no cost on the hot path of `sleep`.
//!
//! Virtual time, as tokio's: `base` is the virtual time at the real instant `unfrozen`;
//! while paused (`unfrozen` is `None`) the time stands at `base` and moves only by
//! [`Clock::advance`] or by the driver's auto-advance to the next timer.
//!
//! # Auto-advance protocol
//!
//! Auto-advance may happen only when nothing could make progress without time passing.
//! The driver (see `driver.rs`) decides it while parking, in this order:
//!
//! 1. poll I/O with a zero timeout, which also consumes any pending unpark of the reactor;
//!    if that brought I/O or an unpark (or a timer is due), return to the scheduler,
//!    which looks at its queues and parks again (so no unpark is swallowed);
//! 2. read the scheduler's idleness (no runnable task, no worker awake) and `holds`;
//! 3. only if all are idle, move the clock to the next timer deadline and fire it;
//!    otherwise block in the poller until unparked.
//!
//! `holds` counts what keeps the clock still while it is not visible to the scheduler:
//! blocking-pool jobs queued or running, and `block_on` futures woken or being polled.
//! Whoever releases a hold, and a worker that goes to sleep, does so *before* it unparks
//! the reactor ([`Clock::poke`]). So if step 2 saw the old value, the poke happened after
//! step 1 and the blocking poll returns at once; if it saw the new one, it decides on it.
//! Something becoming busy (a wake, a new hold) is made visible before the thing it
//! wakes can be observed idle, so a decision to advance never overlooks it.

use std::sync::Weak;
use std::time::{Duration, Instant};

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize};
use crate::reactor::ReactorHandle;

/// What [`Clock::poke`] wakes: the reactor (a stand-in in the loom model).
pub(crate) trait Unpark: Send + Sync {
    fn unpark(&self);
}

impl Unpark for ReactorHandle {
    fn unpark(&self) {
        ReactorHandle::unpark(self);
    }
}

/// One runtime's clock; shared by its timer driver, blocking pool and `block_on` threads.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Set (for good) the first time the clock is paused; until then `now` is the OS clock.
    is_virtual: AtomicBool,
    /// Mirrors `state.unfrozen.is_none()` once virtual, for the driver's cheap check.
    is_paused: AtomicBool,
    /// Whether the driver may move a paused clock to the next timer on its own.
    auto_advance: AtomicBool,
    /// Blocking jobs and `block_on` futures that keep auto-advance off (see the protocol).
    holds: AtomicUsize,
    state: Mutex<State>,
    /// To wake the driver when something it waits for changes. Weak: no descriptor of a
    /// dropped runtime stays open because a pool job still holds the clock.
    reactor: Weak<dyn Unpark>,
}

#[derive(Debug)]
struct State {
    /// The virtual time at the real instant `unfrozen` (or for good while paused).
    base: Instant,
    /// When the clock last resumed; `None` while paused.
    unfrozen: Option<Instant>,
}

impl Clock {
    /// A clock that reads the OS clock until paused.
    pub(crate) fn new(reactor: Weak<dyn Unpark>) -> Clock {
        let now = Instant::now();
        Clock {
            is_virtual: AtomicBool::new(false),
            is_paused: AtomicBool::new(false),
            auto_advance: AtomicBool::new(true),
            holds: AtomicUsize::new(0),
            state: Mutex::new(State {
                base: now,
                unfrozen: Some(now),
            }),
            reactor,
        }
    }

    /// The runtime's current time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        if !self.is_virtual.load(Acquire) {
            return Instant::now();
        }
        self.virtual_now()
    }

    #[cold]
    fn virtual_now(&self) -> Instant {
        let state = self.state.lock();
        match state.unfrozen {
            None => state.base,
            Some(since) => state.base + since.elapsed(),
        }
    }

    /// Whether time is frozen (paused).
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.is_paused.load(Acquire)
    }

    /// Freezes the clock at its current time.
    ///
    /// # Errors
    ///
    /// If it is already paused (the public `pause` turns that into tokio's panic).
    pub(crate) fn pause(&self) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        let Some(since) = state.unfrozen else {
            return Err("time is already frozen: `pause` was called twice without `resume`");
        };
        state.base += since.elapsed();
        state.unfrozen = None;
        self.is_paused.store(true, Release);
        self.is_virtual.store(true, Release);
        Ok(())
    }

    /// Lets the clock run again from where it stands.
    ///
    /// # Errors
    ///
    /// If it is not paused.
    pub(crate) fn resume(&self) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            return Err("time is not frozen: `resume` was called without `pause`");
        }
        state.unfrozen = Some(Instant::now());
        self.is_paused.store(false, Release);
        drop(state);
        // The driver parked without a timer timeout while paused; let it compute one.
        self.poke();
        Ok(())
    }

    /// Moves a paused clock forward by exactly `duration` (saturating far in the future).
    ///
    /// # Errors
    ///
    /// If it is not paused.
    pub(crate) fn advance(&self, duration: Duration) -> Result<Instant, &'static str> {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            return Err("time is not frozen: `advance` needs `pause` (or `start_paused`) first");
        }
        state.base = state
            .base
            .checked_add(duration)
            .unwrap_or_else(|| super::far_future_from(state.base));
        Ok(state.base)
    }

    /// Moves a paused clock forward to `to` (never backwards); the driver's auto-advance.
    /// Does nothing if the clock runs: the decision to advance raced with `resume`.
    pub(crate) fn advance_to(&self, to: Instant) {
        let mut state = self.state.lock();
        if state.unfrozen.is_none() && to > state.base {
            state.base = to;
        }
    }

    /// Sets whether a paused clock may move on its own when the runtime is idle.
    pub(crate) fn set_auto_advance(&self, enabled: bool) {
        self.auto_advance.store(enabled, Relaxed);
        self.poke();
    }

    /// Whether the driver may auto-advance now, as far as the clock knows: paused, allowed,
    /// and nothing holds it (see the protocol; the scheduler's idleness is asked apart).
    pub(crate) fn may_auto_advance(&self) -> bool {
        self.is_paused() && self.auto_advance.load(Relaxed) && self.holds.load(SeqCst) == 0
    }

    /// Keeps auto-advance off until [`release`](Clock::release) (a blocking job, a woken
    /// `block_on` future).
    pub(crate) fn hold(&self) {
        self.holds.fetch_add(1, SeqCst);
    }

    /// Ends one [`hold`](Clock::hold), then lets a paused driver decide again.
    pub(crate) fn release(&self) {
        let previous = self.holds.fetch_sub(1, SeqCst);
        debug_assert!(previous > 0, "released a hold never taken");
        if previous == 1 {
            self.poke_if_paused();
        }
    }

    /// Something the driver's auto-advance decision depends on became idle: wake it to
    /// decide again, if the clock is paused (a no-op otherwise).
    #[inline]
    pub(crate) fn poke_if_paused(&self) {
        if self.is_paused() {
            self.poke();
        }
    }

    fn poke(&self) {
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.unpark();
        }
    }
}

/// A [`Clock::hold`] released on drop (also when a job or a poll unwinds).
#[derive(Debug)]
pub(crate) struct ClockHold(std::sync::Arc<Clock>);

impl ClockHold {
    /// Takes a hold on `clock`.
    pub(crate) fn new(clock: std::sync::Arc<Clock>) -> ClockHold {
        clock.hold();
        ClockHold(clock)
    }
}

impl Drop for ClockHold {
    fn drop(&mut self) {
        self.0.release();
    }
}
