//! Timers: [`sleep()`], [`timeout()`], [`interval()`].
//!
//! Timers are kept in a hierarchical timing wheel (O(1) insert and cancel) owned by the
//! runtime's driver, which parks until the exact earliest deadline using the poller's
//! sub-millisecond wait. A timer fires within the poller's precision of its deadline
//! (tens of microseconds on Linux), never before it.
//!
//! [`Instant`] is the runtime's own instant type, as tokio's: a `std::time::Instant`
//! underneath (with `From`/`Into` both ways), whose [`Instant::now`] reads the current
//! runtime's clock. That clock is the OS clock until it is paused; see [Virtual
//! time](#virtual-time). Every timer deadline (`sleep`, `sleep_until`, `interval`,
//! `timeout`, `Sleep::reset`) is computed on it. A deadline beyond what `Instant` can represent (for
//! example `sleep(Duration::MAX)`) means "in about 30 years": it never fires in practice,
//! and it never panics or overflows.
//!
//! # Virtual time
//!
//! A runtime's clock can be paused ([`pause()`], or `Builder::start_paused(true)`, or
//! `#[runtime::test(start_paused = true)]`), on both flavors. While paused:
//!
//! - time stands still and moves only by [`advance`] (exactly by the given duration; due
//!   timers fire at their exact deadline, no rounding), or
//! - by *auto-advance*: when the runtime has nothing to do (every worker idle with no
//!   runnable task, no `block_on` future woken, no blocking-pool job queued or running,
//!   and a zero-timeout I/O poll finds nothing), the clock jumps to the next timer
//!   deadline and fires it. A `spawn_blocking` job therefore keeps the clock still until
//!   it returns, as in tokio. `Builder::auto_advance(false)` switches this off (tokio
//!   #4522); then only `advance` moves the clock.
//!
//! Timers fire in deadline order; timers with the same deadline are woken in the order
//! they were registered (first poll, or last `reset`). On the current-thread flavor tasks
//! then run in that order; on the multi-thread flavor auto-advance moves one deadline at
//! a time and waits for the runtime to be idle again, so different deadlines run in
//! order, but tasks woken together may run in parallel (or in any order).
//!
//! Not covered: on the current-thread flavor, a second thread's concurrent `block_on`
//! (whose future is polled without the scheduler's core) does not keep a paused clock
//! still while it is woken; nor does a thread outside the runtime that is about to wake
//! a task. Auto-advance may happen in between, as it may in tokio.

pub(crate) mod clock;
pub(crate) mod handle;
mod instant;
mod interval;
mod pause;
mod sleep;
#[allow(unsafe_code, reason = "pin projection of the wrapped future")]
mod timeout;
pub(crate) mod wheel;

/// Time error types, where tokio has them: `runtime::time::error::Elapsed`.
pub mod error {
    pub use super::timeout::Elapsed;
}

pub(crate) use clock::{Clock, ClockHold};
pub(crate) use handle::TimerHandle;
pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use pause::{advance, pause, resume};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

use std::time::Duration;

/// `now` plus about 30 years: a deadline that never fires in practice.
fn far_future_from(now: std::time::Instant) -> std::time::Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    now.checked_add(THIRTY_YEARS).unwrap_or(now)
}

/// `now + duration`, or the far future if that does not fit in an `Instant`.
pub(crate) fn deadline_after(now: std::time::Instant, duration: Duration) -> std::time::Instant {
    let far = far_future_from(now);
    now.checked_add(duration).map_or(far, |d| d.min(far))
}
