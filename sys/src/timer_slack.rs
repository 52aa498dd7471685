//! The calling thread's timer slack: how late Linux may fire the thread's timers so it can
//! coalesce wakeups. The default, 50 µs, is added to every `epoll_pwait2` timeout, which
//! would make a runtime's timers fire ~50 µs late for no benefit to a latency-bound loop.
//! Elsewhere there is no such knob and this is a no-op.

use std::time::Duration;

/// Restores the thread's previous timer slack when dropped.
#[derive(Debug)]
#[must_use = "the slack is restored when the guard drops"]
pub struct TimerSlackGuard {
    previous: Option<u64>,
}

/// Sets the calling thread's timer slack to `slack` (at least 1 ns) until the guard drops.
/// Failures are ignored: the slack only tunes precision, and the previous value stays.
pub fn set_thread_timer_slack(slack: Duration) -> TimerSlackGuard {
    TimerSlackGuard {
        previous: imp::swap(slack.as_nanos().clamp(1, u128::from(u32::MAX)) as u64),
    }
}

impl Drop for TimerSlackGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous {
            imp::swap(previous);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    /// Sets the slack, returning the previous one (None if either call failed).
    pub(super) fn swap(slack: u64) -> Option<u64> {
        // SAFETY: PR_GET_TIMERSLACK takes no pointers; it returns the slack or -1.
        let previous = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        if previous < 0 {
            return None;
        }
        // SAFETY: PR_SET_TIMERSLACK takes the slack by value; no pointers.
        let set = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack as libc::c_ulong, 0, 0, 0) };
        // A failure (e.g. a seccomp filter) leaves the old slack in place: nothing to undo.
        (set == 0).then_some(previous as u64)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    pub(super) fn swap(_: u64) -> Option<u64> {
        None
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    fn current() -> i32 {
        // SAFETY: PR_GET_TIMERSLACK takes no pointers.
        unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) }
    }

    #[test]
    fn guard_sets_the_slack_and_restores_the_previous_one() {
        let before = current();
        {
            let _guard = set_thread_timer_slack(Duration::from_micros(1));
            assert_eq!(current(), 1_000);
        }
        assert_eq!(current(), before);
    }
}
