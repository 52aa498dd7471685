//! `pause`, `resume`, `advance`: controlling the current runtime's virtual clock.
//!
//! See the module docs' [Virtual time](super#virtual-time) for what a paused clock does.

use std::time::Duration;

use crate::context;

/// Pauses the current runtime's clock: from now on its time ([`Instant::now`](super::Instant::now),
/// every timer) stands still and moves only by [`advance`] or by auto-advance to the next
/// timer when the runtime is idle. Works on both flavors (tokio's only on the
/// current-thread one).
///
/// # Panics
///
/// Outside a runtime, or if the clock is already paused (as tokio's).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{self, Instant};
///
/// runtime::Builder::new_current_thread().build()?.block_on(async {
///     time::pause();
///     let start = Instant::now();
///     time::advance(Duration::from_secs(5)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(5));
///     time::resume();
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pause() {
    let handle = context::time_handle("time::pause");
    if let Err(e) = handle.clock().pause() {
        panic!("time::pause: {e}");
    }
}

/// Resumes the current runtime's clock: time flows again, from where it stood (it stays
/// ahead of the OS clock by what it was advanced).
///
/// # Panics
///
/// Outside a runtime, or if the clock is not paused (as tokio's).
pub fn resume() {
    let handle = context::time_handle("time::resume");
    if let Err(e) = handle.clock().resume() {
        panic!("time::resume: {e}");
    }
}

/// Moves the paused clock forward by exactly `duration`, wakes every timer now due (in
/// deadline order, ties in registration order), and yields once. On the current-thread
/// flavor the woken tasks run before this one continues; on the multi-thread flavor they
/// are queued for the workers, which may still be running them when this returns. No
/// rounding: after `sleep(d)` and `advance(d)` the sleep has fired and `Instant::now()` is
/// exactly `d` later (tokio #6866 does not apply).
///
/// # Panics
///
/// Outside a runtime, or if the clock is not paused (as tokio's).
pub async fn advance(duration: Duration) {
    let handle = context::time_handle("time::advance");
    if let Err(e) = handle.clock().advance(duration) {
        panic!("time::advance: {e}");
    }
    handle.fire_due();
    crate::task::yield_now().await;
}
