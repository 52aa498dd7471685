//! Running a future on the calling thread by parking it between polls: `block_on` of the
//! multi-thread flavor, where the workers drive tasks, I/O and timers meanwhile.
//!
//! # Holding a paused clock
//!
//! The workers cannot see this thread, so while its future is woken or being polled it
//! holds the runtime's clock (`Clock::hold`), which keeps auto-advance off:
//!
//! - a wake takes a hold, then sets `woken`; if `woken` was set already it releases its
//!   hold again, so each `false -> true` of `woken` carries exactly one hold;
//! - the loop's `swap(false)` adopts that hold for the poll and releases it after;
//! - on return, `woken` is set for good; a hold taken by a wake that came during the
//!   last poll is released then, and later wakes take none.
//!
//! So from a wake until the poll it caused has returned, the clock cannot move on its
//! own: the future sees the timer that woke it before the next one fires.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::task::coop;
use crate::time::Clock;

/// Polls `future` on this thread until it completes, sleeping while it is pending.
/// `clock`: the runtime's, held while the future is woken or polled (see the module doc).
pub(crate) fn block_on<F: Future>(future: F, clock: Option<&Arc<Clock>>) -> F::Output {
    let mut future = pin!(future);
    if let Some(clock) = clock {
        clock.hold(); // for the first poll, as if woken
    }
    let unparker = Arc::new(ThreadUnparker {
        woken: AtomicBool::new(true),
        thread: thread::current(),
        clock: clock.cloned(),
    });
    let _done = Done(&unparker);
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if unparker.woken.swap(false, Ordering::AcqRel) {
            let _held = Held(&unparker);
            if let Poll::Ready(output) = poll_with_budget(future.as_mut(), &mut cx) {
                return output;
            }
        }
        while !unparker.woken.load(Ordering::Acquire) {
            thread::park(); // spurious returns just loop
        }
    }
}

/// Releases the hold a poll adopted from its wake, when the poll returns or unwinds.
struct Held<'a>(&'a ThreadUnparker);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(clock) = &self.0.clock {
            clock.release();
        }
    }
}

/// Ends `block_on`: wakes from now on take no hold; one taken meanwhile is released.
struct Done<'a>(&'a ThreadUnparker);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        // `true` before: a wake came during the last poll and took a hold nobody adopts.
        if self.0.woken.swap(true, Ordering::AcqRel) {
            if let Some(clock) = &self.0.clock {
                clock.release();
            }
        }
    }
}

/// Polls a `block_on` future once, with a fresh cooperative budget.
///
/// Never inlined: a `block_on` with two poll sites would otherwise inline the future's
/// poll, and with it every large temporary the future builds (a big future it spawns,
/// say), into its own frame, doubling the stack a large future needs (a 1 MiB future
/// spawned inside `block_on` overflowed a 2 MiB thread in release).
#[inline(never)]
pub(crate) fn poll_with_budget<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    coop::budget(|| future.poll(cx))
}

/// Wakes the thread inside [`block_on`].
struct ThreadUnparker {
    woken: AtomicBool,
    thread: Thread,
    /// The runtime's clock, held from a wake until the poll it causes returns.
    clock: Option<Arc<Clock>>,
}

impl Wake for ThreadUnparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The hold comes before `woken` is set, so the clock cannot be seen free while
        // a wake is pending; a wake that finds `woken` set already gives it back.
        if let Some(clock) = &self.clock {
            clock.hold();
        }
        if self.woken.swap(true, Ordering::AcqRel) {
            if let Some(clock) = &self.clock {
                clock.release();
            }
            return;
        }
        // Only the first wake of a batch pays for the unpark.
        self.thread.unpark();
    }
}
