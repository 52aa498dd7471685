//! The driver a parked scheduler blocks in: the reactor plus the timer wheel.
//!
//! Parking computes the timeout from the exact earliest timer deadline (no rounding to
//! whole milliseconds), waits in the poller, dispatches I/O readiness, then fires the
//! timers that are due.

use std::io;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::{reactor, time};

/// Owned side: whoever holds it may park.
#[derive(Debug)]
pub(crate) struct Driver {
    io: reactor::Driver,
    time: Arc<time::TimerHandle>,
    /// Reused between parks so firing timers allocates nothing once warm.
    fired: Vec<Waker>,
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
    /// then wakes the tasks concerned. `Some(Duration::ZERO)` only polls.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let timer = self.time.next_wake(Instant::now());
        let timeout = match (timeout, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Err(e) = self.io.turn(timeout) {
            // epoll_wait/kevent only fail on a bad descriptor or buffer, which would be a
            // bug here (EINTR is retried inside). Nothing can be returned to a caller.
            debug_assert!(false, "the poller failed: {e}");
        }
        self.time.process(Instant::now(), &mut self.fired);
    }

    /// Fails every I/O registration and drops every timer's waker.
    pub(crate) fn shutdown(&mut self) {
        self.io.shutdown();
        self.time.shutdown();
    }
}
