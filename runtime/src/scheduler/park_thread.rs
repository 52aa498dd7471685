//! Running a future on the calling thread by parking it between polls: `block_on` of the
//! multi-thread flavor, where the workers drive tasks, I/O and timers meanwhile.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::task::coop;

/// Polls `future` on this thread until it completes, sleeping while it is pending.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let unparker = Arc::new(ThreadUnparker {
        woken: AtomicBool::new(true),
        thread: thread::current(),
    });
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if unparker.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(output) = poll_with_budget(future.as_mut(), &mut cx) {
                return output;
            }
        }
        while !unparker.woken.load(Ordering::Acquire) {
            thread::park(); // spurious returns just loop
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
}

impl Wake for ThreadUnparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake of a batch pays for the unpark.
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }
}
