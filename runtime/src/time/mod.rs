//! Timers: [`sleep()`], [`timeout()`], [`interval()`].
//!
//! Timers are kept in a hierarchical timing wheel (O(1) insert and cancel) owned by the
//! runtime's driver, which parks until the exact earliest deadline using the poller's
//! sub-millisecond wait. A timer fires within the poller's precision of its deadline
//! (tens of microseconds on Linux), never before it.
//!
//! `Instant` is `std::time::Instant`. A deadline beyond what `Instant` can represent (for
//! example `sleep(Duration::MAX)`) means "in about 30 years": it never fires in practice,
//! and it never panics or overflows.

mod handle;
mod interval;
mod sleep;
#[allow(unsafe_code, reason = "pin projection of the wrapped future")]
mod timeout;
pub(crate) mod wheel;

/// Time error types, where tokio has them: `runtime::time::error::Elapsed`.
pub mod error {
    pub use super::timeout::Elapsed;
}

pub(crate) use handle::TimerHandle;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::Instant;
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

use std::time::Duration;

/// A deadline far enough away to never fire in practice (about 30 years).
pub(crate) fn far_future() -> Instant {
    far_future_from(Instant::now())
}

fn far_future_from(now: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    now.checked_add(THIRTY_YEARS).unwrap_or(now)
}

/// `now + duration`, or the far future if that does not fit in an `Instant`. Reads the
/// clock once: that read is most of what creating a `Sleep` costs.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    let far = far_future_from(now);
    now.checked_add(duration).map_or(far, |d| d.min(far))
}
