//! `yield_now`: give the worker back to other tasks once.
//!
//! The future wakes its own task and returns `Pending` once. It also raises a
//! thread-local flag, so the runner that sees the task woken during that poll
//! hands it to `Schedule::yield_now` instead of `Schedule::schedule`, letting an
//! executor put yielding tasks behind the others (tokio's "defer").

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// Set by `YieldNow::poll`, read and reset by the runner around each poll.
    /// Const-initialised and without destructor, so it is usable at any time.
    static YIELDED: Cell<bool> = const { Cell::new(false) };
}

/// Yields execution back to the runtime once.
///
/// The current task is rescheduled right away. It resumes after the tasks that
/// were already waiting to run, and after the runtime has looked at I/O and timers
/// once (as in tokio), so a task that yields in a loop cannot hold back a socket or
/// a timer that became ready meanwhile. Use it to break up long stretches of work
/// that never await anything else.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let sum = runtime::spawn(async {
///     let mut sum = 0u64;
///     for chunk in (0..1_000u64).collect::<Vec<_>>().chunks(100) {
///         sum += chunk.iter().sum::<u64>();
///         runtime::task::yield_now().await; // let other tasks run between chunks
///     }
///     sum
/// });
/// assert_eq!(sum.await.unwrap(), 499_500);
/// # });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await;
}

/// Pending once, after waking its own task.
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        mark_yielded();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Marks the running poll as a yield: a wake of the task during it goes through
/// `Schedule::yield_now`. Also used when the cooperative budget runs out (`coop.rs`).
pub(super) fn mark_yielded() {
    let _ = YIELDED.try_with(|flag| flag.set(true));
}

/// Runs one poll and reports whether `yield_now` was used during it. The flag of
/// an outer poll on this thread (a nested executor) is restored afterwards.
pub(super) fn track<R>(poll: impl FnOnce() -> R) -> (R, bool) {
    let outer = YIELDED
        .try_with(|flag| flag.replace(false))
        .unwrap_or(false);
    let result = poll();
    let yielded = YIELDED
        .try_with(|flag| flag.replace(outer))
        .unwrap_or(false);
    (result, yielded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn yield_now_wakes_itself_and_is_pending_exactly_once() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(yield_now());
        let (first, yielded) = track(|| fut.as_mut().poll(&mut cx));
        assert!(first.is_pending() && yielded);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        let (second, yielded) = track(|| fut.as_mut().poll(&mut cx));
        assert!(second.is_ready() && !yielded);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn track_restores_the_outer_flag() {
        let (_, outer) = track(|| {
            let mut cx = Context::from_waker(Waker::noop());
            let _ = Box::pin(yield_now()).as_mut().poll(&mut cx);
            let ((), inner) = track(|| ());
            assert!(!inner);
        });
        assert!(outer);
    }
}
