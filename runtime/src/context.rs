//! The thread's runtime context: which runtime is current (for `spawn`, `sleep`,
//! `AsyncFd::new`, `Handle::current`), and whether this thread is inside `block_on`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::scheduler;
use crate::{reactor, time};

thread_local! {
    static CURRENT: RefCell<Option<scheduler::SchedulerHandle>> = const { RefCell::new(None) };
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
    /// The address of the runtime this thread runs (inside its `block_on` or as its
    /// worker), 0 for none. Unlike `CURRENT`, `Handle::enter` does not change it.
    static RUNNING: Cell<usize> = const { Cell::new(0) };
}

/// Restores the previous current handle when dropped.
#[derive(Debug)]
pub(crate) struct SetCurrentGuard {
    previous: Option<scheduler::SchedulerHandle>,
}

/// Makes `handle` the current runtime of this thread until the guard drops. During thread
/// teardown (a `Runtime` kept in a `thread_local!` being dropped) the slot may be gone;
/// then nothing is set and nothing is restored.
pub(crate) fn set_current(handle: &scheduler::SchedulerHandle) -> SetCurrentGuard {
    let previous = CURRENT
        .try_with(|c| c.replace(Some(handle.clone())))
        .unwrap_or(None);
    SetCurrentGuard { previous }
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // During thread teardown the slot may be gone already; then there is nothing to restore.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Marks this thread as running a runtime (inside `block_on`) until the guard drops.
#[derive(Debug)]
pub(crate) struct EnterRuntimeGuard {
    _current: SetCurrentGuard,
    previous_running: usize,
}

/// Enters `handle`'s runtime on this thread.
///
/// # Panics
///
/// If this thread is already inside a runtime: blocking there would stall every task of
/// that runtime, so it is refused instead of deadlocking.
pub(crate) fn enter_runtime(handle: &scheduler::SchedulerHandle) -> EnterRuntimeGuard {
    // During thread teardown the flag is gone: nothing can be nested there anyway.
    let nested = IN_RUNTIME.try_with(|r| r.replace(true)).unwrap_or(false);
    assert!(
        !nested,
        "Cannot start a runtime from within a runtime. `block_on` was called from a thread \
         that is already running a runtime (inside `block_on` or a task); `.await` the \
         future instead, or run the blocking part in `spawn_blocking`."
    );
    let previous_running = RUNNING
        .try_with(|r| r.replace(handle.address()))
        .unwrap_or(0);
    EnterRuntimeGuard {
        _current: set_current(handle),
        previous_running,
    }
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = IN_RUNTIME.try_with(|r| r.set(false));
        let _ = RUNNING.try_with(|r| r.set(self.previous_running));
    }
}

/// Is this thread running `handle`'s runtime: inside its `block_on`, or one of its
/// workers (so also inside one of its tasks)? Blocking on that runtime's shutdown here
/// would wait for this very thread.
pub(crate) fn is_running(handle: &scheduler::SchedulerHandle) -> bool {
    RUNNING
        .try_with(|r| r.get() == handle.address())
        .unwrap_or(false)
}

/// Runs `f` with the current runtime's handle.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::SchedulerHandle) -> R,
) -> Result<R, TryCurrentError> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(f))
        .map_err(|_| TryCurrentError::THREAD_LOCAL_DESTROYED)?
        .ok_or(TryCurrentError::NO_CONTEXT)
}

/// The current runtime's handle, or a panic that says how to fix it.
pub(crate) fn current(what: &str) -> scheduler::SchedulerHandle {
    match with_current(Clone::clone) {
        Ok(handle) => handle,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// The current reactor, for `AsyncFd::new` (an error, not a panic, outside a runtime).
pub(crate) fn io_handle() -> io::Result<Arc<reactor::ReactorHandle>> {
    with_current(|h| h.driver().io.clone()).map_err(|e| io::Error::other(format!("AsyncFd: {e}")))
}

/// The current timer driver, for `sleep` and friends.
pub(crate) fn time_handle(what: &str) -> Arc<time::TimerHandle> {
    // Clones only the timer handle, not the scheduler's, on this hot path of `sleep`.
    with_current(|h| h.driver().time.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The current runtime's time (virtual while its clock is paused); the OS clock's outside
/// a runtime.
pub(crate) fn clock_now() -> std::time::Instant {
    with_current(|h| h.driver().time.now()).unwrap_or_else(|_| std::time::Instant::now())
}

/// There is no current runtime; see [`Handle::try_current`](crate::Handle::try_current).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryCurrentError {
    kind: TryCurrentErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TryCurrentErrorKind {
    NoContext,
    ThreadLocalDestroyed,
}

impl TryCurrentError {
    const NO_CONTEXT: TryCurrentError = TryCurrentError {
        kind: TryCurrentErrorKind::NoContext,
    };
    const THREAD_LOCAL_DESTROYED: TryCurrentError = TryCurrentError {
        kind: TryCurrentErrorKind::ThreadLocalDestroyed,
    };

    /// The caller is not inside a runtime.
    pub fn is_missing_context(&self) -> bool {
        self.kind == TryCurrentErrorKind::NoContext
    }

    /// The thread is being torn down and its runtime context is gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.kind == TryCurrentErrorKind::ThreadLocalDestroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TryCurrentErrorKind::NoContext => f.write_str(
                "there is no runtime here; call this from inside `Runtime::block_on`, a task \
                 spawned on a runtime, or after `Handle::enter()`, or with `#[runtime::main]`",
            ),
            TryCurrentErrorKind::ThreadLocalDestroyed => {
                f.write_str("the runtime context of this thread has been destroyed (thread exit)")
            }
        }
    }
}

impl std::error::Error for TryCurrentError {}
