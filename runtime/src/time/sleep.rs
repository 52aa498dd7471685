//! `Sleep`: a future that completes at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use super::TimerHandle;
use super::wheel::Key;
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
    sleep_until(super::deadline_after(duration))
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
///
/// # Panics
///
/// Outside a runtime (call it from a task, from `block_on`, or after `Handle::enter`).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        handle: crate::context::time_handle("sleep"),
        key: None,
        elapsed: false,
    }
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
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as observed by the last poll or now).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed || Instant::now() >= self.deadline
    }

    /// Moves the deadline, re-arming a sleep that already completed. A registered sleep
    /// keeps its waker: the task is woken at the new deadline even if it does not poll
    /// the sleep again first.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.elapsed = false;
        this.handle.reschedule(&mut this.key, deadline);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // An elapsed sleep is ready at once: a loop of them must still yield.
        let coop = ready!(coop::poll_proceed(cx));
        if this.elapsed || Instant::now() >= this.deadline {
            coop.made_progress();
            this.elapsed = true;
            this.handle.cancel(&mut this.key);
            return Poll::Ready(());
        }
        this.handle
            .register(&mut this.key, this.deadline, cx.waker());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.handle.cancel(&mut self.key);
    }
}
