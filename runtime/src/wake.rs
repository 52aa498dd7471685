//! Waking a waker the runtime did not make, from inside the runtime.
//!
//! The timer driver, the reactor, the signal dispatcher and a graceful shutdown wake
//! whatever waker a future was last polled with: a foreign executor's, too. Its `wake` is
//! user code and may panic. Unwinding from there would stop a worker in its driver (the
//! runtime's drop then waits for that worker forever), skip the other wakers of the same
//! batch (lost wakeups), or leave `Runtime::drop` half done. So every such wake goes
//! through [`wake_caught`]: the panic is caught and discarded, as the task harness does with
//! a panicking join waker. The panic hook has already reported it, on the thread that woke.
//! [`discard_panic`] is shared with the other places that catch user code's panics (the task
//! harness, the workers' thread hooks).

use std::any::Any;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

/// Wakes `waker`; a panic in its `wake` (or in its drop) is caught and discarded.
pub(crate) fn wake_caught(waker: Waker) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || waker.wake())) {
        discard_panic(payload);
    }
}

/// Drops a panic payload caught from user code. If the payload's own destructor panics,
/// that second payload is leaked rather than risking an endless chain.
pub(crate) fn discard_panic(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        let _ = ManuallyDrop::new(again);
    }
}
