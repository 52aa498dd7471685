//! `Sleep`: a future that completes at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use super::wheel::Key;
use super::{Instant, TimerHandle};
use crate::task::coop;

/// Waits until `duration` has passed. Equivalent to `sleep_until(Instant::now() + duration)`,
/// except that a duration too large for an `Instant` (such as `Duration::MAX`) means "about
/// 30 years from now" instead of a panic.
///
/// # Panics
///
/// Outside a runtime (call it from a task, from `block_on`, or after `Handle::enter`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// runtime::time::sleep(Duration::from_millis(1)).await;
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let handle = crate::context::time_handle("sleep");
    let deadline = super::deadline_after(handle.now(), duration);
    Sleep::new(Instant::from_std(deadline), handle)
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
///
/// # Panics
///
/// Outside a runtime (call it from a task, from `block_on`, or after `Handle::enter`).
pub fn sleep_until(deadline: impl Into<Instant>) -> Sleep {
    Sleep::new(deadline.into(), crate::context::time_handle("sleep"))
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// Registers with the timer wheel on its first pending poll; dropping it cancels the timer
/// in O(1). It is `Unpin`; methods take `Pin<&mut Self>` for compatibility with tokio.
///
/// Polling it before its deadline after its runtime shut down panics: it could never fire.
/// Completing takes one unit of the task's cooperative budget
/// ([`consume_budget`](crate::task::consume_budget)).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    handle: Arc<TimerHandle>,
    key: Option<Key>,
    elapsed: bool,
}

impl Sleep {
    fn new(deadline: Instant, handle: Arc<TimerHandle>) -> Sleep {
        Sleep {
            deadline,
            handle,
            key: None,
            elapsed: false,
        }
    }

    /// The time on this sleep's runtime clock.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_std(self.handle.now())
    }

    /// `duration` from now on this sleep's runtime clock (the far future if that does
    /// not fit).
    pub(crate) fn after(&self, duration: Duration) -> Instant {
        Instant::from_std(super::deadline_after(self.handle.now(), duration))
    }

    /// Whether the runtime's clock has reached the deadline.
    fn deadline_reached(&self) -> bool {
        self.handle.now() >= self.deadline.into_std()
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as observed by the last poll or now).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed || self.deadline_reached()
    }

    /// Moves the deadline, re-arming a sleep that already completed. A registered sleep
    /// keeps its waker: the task is woken at the new deadline even if it does not poll
    /// the sleep again first.
    pub fn reset(self: Pin<&mut Self>, deadline: impl Into<Instant>) {
        let this = self.get_mut();
        this.deadline = deadline.into();
        this.elapsed = false;
        this.handle
            .reschedule(&mut this.key, this.deadline.into_std());
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // An elapsed sleep is ready at once: a loop of them must still yield.
        let coop = ready!(coop::poll_proceed(cx));
        if this.elapsed || this.deadline_reached() {
            coop.made_progress();
            this.elapsed = true;
            this.handle.cancel(&mut this.key);
            return Poll::Ready(());
        }
        this.handle
            .register(&mut this.key, this.deadline.into_std(), cx.waker());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.handle.cancel(&mut self.key);
    }
}
