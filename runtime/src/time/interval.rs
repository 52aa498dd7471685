//! `Interval`: ticks at a fixed period.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;

use super::{Instant, Sleep, sleep_until};

/// Ticks every `period`; the first tick completes immediately (like tokio).
///
/// # Panics
///
/// If `period` is zero, or outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut every = runtime::time::interval(Duration::from_millis(1));
/// every.tick().await; // immediate
/// every.tick().await; // ~1 ms later
/// # });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first time at `start`.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime.
pub fn interval_at(start: impl Into<Instant>, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "interval period must be non-zero; use yield_now() to loop without delay"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when ticks were missed (the task ran late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up (tokio's default).
    #[default]
    Burst,
    /// Start the schedule anew one period after the late tick.
    Delay,
    /// Skip the missed ticks; the next tick lands on the original schedule.
    Skip,
}

/// A stream of ticks; see [`interval`]. Implements `futures_core::Stream<Item = Instant>`.
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Panics
    ///
    /// If polled before the tick after its runtime shut down, as [`Sleep`] does: the tick
    /// could never come.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll form of [`tick`](Interval::tick).
    ///
    /// # Panics
    ///
    /// As [`tick`](Interval::tick) does, after its runtime shut down.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let scheduled = self.delay.deadline();
        let now = self.delay.now();
        let next = self.next_deadline(scheduled, now);
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    fn next_deadline(&self, scheduled: Instant, now: Instant) -> Instant {
        let far_future = || Instant::from_std(super::far_future_from(now.into_std()));
        let on_time = scheduled
            .checked_add(self.period)
            .unwrap_or_else(far_future);
        if on_time > now {
            return on_time;
        }
        match self.missed_tick_behavior {
            MissedTickBehavior::Burst => on_time,
            MissedTickBehavior::Delay => now.checked_add(self.period).unwrap_or_else(far_future),
            MissedTickBehavior::Skip => {
                // In u128 nanoseconds: counting the missed periods in a `u32` stopped
                // short of `now` once more than 2^32 were missed (a 1 us interval 72
                // minutes behind), and every later tick came at once.
                let behind = now.duration_since(scheduled).as_nanos();
                let period = self.period.as_nanos();
                let skip = (behind / period + 1) * period;
                duration_from_nanos(skip)
                    .and_then(|skip| scheduled.checked_add(skip))
                    .unwrap_or_else(far_future)
            }
        }
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How missed ticks are handled.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets how missed ticks are handled.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(self.delay.after(self.period));
    }

    /// Restarts the schedule: the next tick is now (the next `tick()` completes at once),
    /// and the ones after it a period apart.
    pub fn reset_immediately(&mut self) {
        self.reset_at(self.delay.now());
    }

    /// Restarts the schedule: the next tick is `after` from now (a duration too large for
    /// an `Instant` means the far future, never a panic).
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(self.delay.after(after));
    }

    /// Restarts the schedule: the next tick is at `deadline` (at once if it has passed).
    pub fn reset_at(&mut self, deadline: impl Into<Instant>) {
        Pin::new(&mut self.delay).reset(deadline);
    }
}

/// `nanos` as a `Duration`; `None` past `Duration::MAX`.
fn duration_from_nanos(nanos: u128) -> Option<Duration> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).ok()?;
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).expect("below one second");
    Some(Duration::new(secs, subsec))
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
