//! The driver a parked scheduler blocks in: the reactor plus the timer wheel.
//!
//! Parking computes the timeout from the exact earliest timer deadline (no rounding to
//! whole milliseconds), waits in the poller, dispatches I/O readiness, then fires the
//! timers that are due.
//!
//! While the runtime's clock is paused, timers never come due by waiting: parking polls
//! I/O without blocking, and if nothing happened and the scheduler says it is idle, it
//! auto-advances the clock to the next timer (the decision protocol is in
//! `time/clock.rs`); otherwise it blocks until I/O or an unpark.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::time::handle::Timer;
use crate::{reactor, time};

/// Owned side: whoever holds it may park.
#[derive(Debug)]
pub(crate) struct Driver {
    io: reactor::Driver,
    time: Arc<time::TimerHandle>,
    /// Reused between parks so firing timers allocates nothing once warm.
    fired: Vec<Timer>,
}

/// Shared side: registration and unparking.
#[derive(Clone, Debug)]
pub(crate) struct DriverHandle {
    pub(crate) io: Arc<reactor::ReactorHandle>,
    pub(crate) time: Arc<time::TimerHandle>,
}

impl Driver {
    /// Opens the poller and its waker.
    pub(crate) fn new() -> io::Result<(Driver, DriverHandle)> {
        let (io, io_handle) = reactor::Driver::new()?;
        let time = Arc::new(time::TimerHandle::new(io_handle.clone()));
        let driver = Driver {
            io,
            time: time.clone(),
            fired: Vec::new(),
        };
        Ok((
            driver,
            DriverHandle {
                io: io_handle,
                time,
            },
        ))
    }

    /// Blocks until I/O readiness, a due timer, an unpark, or `timeout` (`None`: no limit),
    /// then wakes the tasks concerned. `Some(Duration::ZERO)` only polls. For a scheduler
    /// that parks only when it has nothing to run: a paused clock auto-advances.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        self.park_when_idle(timeout, || true);
    }

    /// As [`park`](Driver::park); a paused clock auto-advances only if `scheduler_idle`
    /// says so when asked, after a zero-timeout I/O poll (see `time/clock.rs`).
    pub(crate) fn park_when_idle(
        &mut self,
        timeout: Option<Duration>,
        scheduler_idle: impl Fn() -> bool,
    ) {
        if self.time.clock().is_paused() {
            return self.park_paused(timeout, scheduler_idle);
        }
        let timer = self.time.next_wake(self.time.now());
        let timeout = match (timeout, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.turn(timeout);
        self.time.process(self.time.now(), &mut self.fired);
    }

    /// Parking on a paused clock: I/O first, then auto-advance, else wait for an unpark.
    #[cold]
    fn park_paused(&mut self, timeout: Option<Duration>, scheduler_idle: impl Fn() -> bool) {
        // Step 1 of the protocol. An unpark it consumes (a wake for the scheduler, or a
        // poke: something went idle) returns to the scheduler like I/O or a timer does,
        // so the scheduler looks at its queues and parks again, and the decision below is
        // always made with no unpark swallowed since the state it reads changed.
        let events = self.turn(Some(Duration::ZERO));
        let fired = self.time.process(self.time.now(), &mut self.fired);
        if events > 0 || fired > 0 || timeout == Some(Duration::ZERO) {
            return; // something may be runnable now: let the scheduler look
        }
        let clock = self.time.clock().clone();
        if clock.may_auto_advance()
            && scheduler_idle()
            && self.time.advance_to_next(&mut self.fired) > 0
        {
            return;
        }
        // Records the park deadline, so that a new earlier timer unparks us. A timer that
        // came due since `process` (registered in between, with a deadline the paused clock
        // has reached) did not unpark us: do not block on it.
        let timeout = match self.time.next_wake(self.time.now()) {
            Some(Duration::ZERO) => Some(Duration::ZERO),
            _ => timeout,
        };
        self.turn(timeout);
        self.time.process(self.time.now(), &mut self.fired);
    }

    /// Waits in the poller; returns how many events came (readiness, or an unpark).
    fn turn(&mut self, timeout: Option<Duration>) -> usize {
        match self.io.turn(timeout) {
            Ok(dispatched) => dispatched,
            Err(e) => {
                // epoll_wait/kevent only fail on a bad descriptor or buffer, which would
                // be a bug here (EINTR is retried inside). Nothing can be returned to a
                // caller.
                debug_assert!(false, "the poller failed: {e}");
                0
            }
        }
    }

    /// Fails every I/O registration and drops every timer's waker.
    pub(crate) fn shutdown(&mut self) {
        self.io.shutdown();
        self.time.shutdown();
    }
}
