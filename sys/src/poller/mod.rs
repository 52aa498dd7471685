//! The readiness poller: epoll on Linux and Android, kqueue on the BSD family and Apple.
//!
//! This file holds the only OS list that picks a backend. Every backend exports the same
//! names:
//!
//! - `Poller`: `new`, `register`, `modify`, `deregister`, `wait`, plus `AsRawFd`/`AsFd`.
//! - `Events`: a reusable buffer that `wait` fills; `with_capacity`, `iter`, `len`, `is_empty`.
//!
//! # Contract (identical on every backend)
//!
//! - The poller descriptor is close-on-exec from birth.
//! - Registration is edge-triggered and made once per descriptor for both directions: after
//!   an event is reported, the same readiness is not reported again until a new edge (more
//!   data, more room, a hang-up). Consumers must read or write until `WouldBlock`.
//! - Registering a descriptor twice is `AlreadyExists`; modifying or deregistering a
//!   descriptor that is not registered is `NotFound`.
//! - `wait` semantics are documented on [`Poller::wait`].

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

// The one OS list that picks a backend. Both files export the same names (see above).
#[cfg_attr(any(target_os = "linux", target_os = "android"), path = "epoll.rs")]
#[cfg_attr(
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ),
    path = "kqueue.rs"
)]
pub(crate) mod imp;

// The test seam (`--cfg sys_test_seams`, never in a normal build): the same API with every
// call counted and failures injectable.
#[cfg(sys_test_seams)]
pub mod instrumented;

pub use imp::Events;
#[cfg(not(sys_test_seams))]
pub use imp::Poller;
#[cfg(sys_test_seams)]
pub use instrumented::Poller;

/// Identifies a registration in the events `wait` reports. Opaque to the poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// The directions a registration asks to hear about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable readiness (and read-side hang-ups).
    pub const READABLE: Interest = Interest(0b01);
    /// Writable readiness (and write-side hang-ups).
    pub const WRITABLE: Interest = Interest(0b10);
    /// Both directions: what the runtime registers every descriptor with.
    pub const BOTH: Interest = Interest(0b11);

    /// Both interests: `self | other` in a `const`, as tokio's `Interest::add`.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Whether this interest includes readable readiness.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether this interest includes writable readiness.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// A set of readiness bits, as reported by one event (and as kept by the reactor).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Readiness(u8);

impl Readiness {
    /// No readiness.
    pub const EMPTY: Readiness = Readiness(0);
    /// Data (or a connection) can be read.
    pub const READABLE: Readiness = Readiness(0b0_0001);
    /// Data can be written.
    pub const WRITABLE: Readiness = Readiness(0b0_0010);
    /// The read side is closed: reads return EOF (peer shut down or hung up).
    pub const READ_CLOSED: Readiness = Readiness(0b0_0100);
    /// The write side is closed: writes fail.
    pub const WRITE_CLOSED: Readiness = Readiness(0b0_1000);
    /// An error is pending on the descriptor (read it with `SO_ERROR`).
    pub const ERROR: Readiness = Readiness(0b1_0000);

    /// The raw bits, for packing into an atomic word.
    pub const fn as_u8(self) -> u8 {
        self.0
    }

    /// Rebuilds readiness from [`Readiness::as_u8`] bits; unknown bits are dropped.
    pub const fn from_u8(bits: u8) -> Readiness {
        Readiness(bits & 0b1_1111)
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Readiness) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a bit.
    pub const fn intersects(self, other: Readiness) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a read may make progress: readable, read-closed or error.
    pub const fn is_readable(self) -> bool {
        self.intersects(Readiness(
            Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0,
        ))
    }

    /// Whether a write may make progress: writable, write-closed or error.
    pub const fn is_writable(self) -> bool {
        self.intersects(Readiness(
            Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0,
        ))
    }

    /// Whether the read side is closed.
    pub const fn is_read_closed(self) -> bool {
        self.intersects(Self::READ_CLOSED)
    }

    /// Whether the write side is closed.
    pub const fn is_write_closed(self) -> bool {
        self.intersects(Self::WRITE_CLOSED)
    }

    /// Whether an error is pending.
    pub const fn is_error(self) -> bool {
        self.intersects(Self::ERROR)
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Readiness;

    fn bitor(self, other: Readiness) -> Readiness {
        Readiness(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Readiness {
    fn bitor_assign(&mut self, other: Readiness) {
        self.0 |= other.0;
    }
}

impl std::ops::Sub for Readiness {
    type Output = Readiness;

    fn sub(self, other: Readiness) -> Readiness {
        Readiness(self.0 & !other.0)
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Readiness, &str); 5] = [
            (Readiness::READABLE, "READABLE"),
            (Readiness::WRITABLE, "WRITABLE"),
            (Readiness::READ_CLOSED, "READ_CLOSED"),
            (Readiness::WRITE_CLOSED, "WRITE_CLOSED"),
            (Readiness::ERROR, "ERROR"),
        ];
        let mut list = f.debug_set();
        for (bit, name) in NAMES {
            if self.contains(bit) {
                list.entry(&format_args!("{name}"));
            }
        }
        list.finish()
    }
}

/// One readiness event: which registration, and what it became ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The token the descriptor was registered with.
    pub token: Token,
    /// What the descriptor is ready for.
    pub readiness: Readiness,
}

/// The deadline loop both backends' `wait` runs around one OS wait call.
///
/// `wait_once(rest)` waits at most `rest` (`None`: forever) and may return early with no
/// events (a chunked long wait, `EINTR`); this loop waits again with the remaining time
/// only, so a retry never restarts the full timeout. A timeout whose deadline does not fit
/// in an `Instant` means "forever".
pub(crate) fn wait_deadline(
    timeout: Option<Duration>,
    mut wait_once: impl FnMut(Option<Duration>) -> io::Result<usize>,
) -> io::Result<usize> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let rest = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        #[cfg(sys_test_seams)]
        let result = match instrumented::injected_wait_error() {
            Some(error) => Err(error),
            None => wait_once(rest),
        };
        #[cfg(not(sys_test_seams))]
        let result = wait_once(rest);
        match result {
            Ok(0) if rest.is_some_and(|r| r.is_zero()) => return Ok(0),
            Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(0),
            // The wait was cut into chunks, or woke early: wait for the rest.
            Ok(0) => continue,
            Ok(n) => return Ok(n),
            // EINTR: a signal handler ran. Retry with the remaining time.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Rounds a wait timeout up to whole milliseconds for interfaces that only take those,
/// saturating at `c_int::MAX`: a sub-millisecond wait becomes 1 ms, never 0 (a busy spin).
#[cfg_attr(
    not(any(test, target_os = "linux", target_os = "android")),
    expect(dead_code, reason = "only epoll_wait takes milliseconds")
)]
pub(crate) fn timeout_ms_round_up(timeout: std::time::Duration) -> libc::c_int {
    let ms = timeout
        .as_nanos()
        .div_ceil(1_000_000)
        .min(libc::c_int::MAX as u128);
    ms as libc::c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_millisecond_timeouts_round_up_not_down() {
        assert_eq!(timeout_ms_round_up(Duration::ZERO), 0);
        assert_eq!(timeout_ms_round_up(Duration::from_nanos(1)), 1);
        assert_eq!(timeout_ms_round_up(Duration::from_micros(999)), 1);
        assert_eq!(timeout_ms_round_up(Duration::from_millis(1)), 1);
        assert_eq!(timeout_ms_round_up(Duration::from_micros(1001)), 2);
    }

    #[test]
    fn huge_timeouts_saturate_instead_of_wrapping() {
        assert_eq!(timeout_ms_round_up(Duration::MAX), libc::c_int::MAX);
        assert_eq!(
            timeout_ms_round_up(Duration::from_secs(u64::from(u32::MAX))),
            libc::c_int::MAX
        );
    }

    #[test]
    fn readiness_predicates_cover_hangups_and_errors() {
        assert!(Readiness::READ_CLOSED.is_readable());
        assert!(Readiness::ERROR.is_readable() && Readiness::ERROR.is_writable());
        assert!(Readiness::WRITE_CLOSED.is_writable());
        assert!(!Readiness::WRITABLE.is_readable());
        assert_eq!(
            (Readiness::READABLE | Readiness::WRITABLE) - Readiness::READABLE,
            Readiness::WRITABLE
        );
        assert_eq!(Readiness::from_u8(0xff), Readiness::from_u8(0b1_1111));
    }
}
