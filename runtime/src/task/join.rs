//! `JoinHandle`: the spawner's reference to a task and its result.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, ready};

use super::abort::{self, AbortHandle};
use super::coop;
use super::error::JoinError;
use super::id::Id;
use super::raw::Header;

/// An owned permission to await a spawned task's result.
///
/// Awaiting it yields the task's output, or a [`JoinError`] if the task panicked or
/// was cancelled. Dropping it detaches the task: the task keeps running and its
/// output is dropped when it completes (or right away, if it already has).
///
/// `JoinHandle<T>` is `Send` and `Sync` when `T: Send`, and always `Unpin`.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = runtime::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
///
/// let stuck = runtime::spawn(std::future::pending::<()>());
/// stuck.abort();
/// assert!(stuck.await.unwrap_err().is_cancelled());
/// # });
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: a handle moves `T` out of the task (`poll`) or drops it (`drop`), so it
// may change threads when `T: Send`. Everything else it reaches is the state word
// (atomic) and the scheduler (`Send + Sync` by the `Schedule` bound); a local
// task's future is guarded by protocol rule 7 whichever thread the handle is on.
unsafe impl<T: Send> Send for JoinHandle<T> {}

// SAFETY: through `&JoinHandle` only `abort` and `is_finished` are reachable; they
// touch the state word and the scheduler, never `T`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

/// The handle never pins anything: the task lives in its own allocation.
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Wraps the task's join reference.
    ///
    /// # Safety
    ///
    /// `raw` is a live task whose output type is `T`, and the caller gives this
    /// handle the reference counted for `JOIN_INTEREST`.
    pub(super) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// The task's header, for tests that enter it as the current task.
    #[cfg(test)]
    pub(super) fn raw_header(&self) -> NonNull<Header> {
        self.raw
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// Cancels the task.
    ///
    /// An idle task is scheduled once more so its runtime drops the future (its
    /// destructor runs exactly once, on the runtime's thread); a task being polled
    /// is dropped right after that poll returns. Awaiting the handle then yields a
    /// [`JoinError`] for which [`is_cancelled`](JoinError::is_cancelled) is true.
    /// Aborting a task that already finished does nothing: its output stays.
    pub fn abort(&self) {
        // SAFETY: the handle's reference outlives the call.
        unsafe { abort::abort_task(self.raw) }
    }

    /// A handle that can cancel the task but not read its result; it holds its own
    /// reference, so it stays valid after this `JoinHandle` is dropped or awaited.
    pub fn abort_handle(&self) -> AbortHandle {
        self.header().state.ref_inc();
        // SAFETY: `ref_inc` just counted the reference the new handle owns (rule 8).
        unsafe { AbortHandle::from_raw(self.raw) }
    }

    /// Returns `true` once the task has finished: completed, panicked, or
    /// cancelled. Awaiting the handle then returns without waiting.
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task's id: the same [`task::id()`](super::id()) returns inside it and
    /// [`JoinError::id`] reports.
    pub fn id(&self) -> Id {
        self.header().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Poll::Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A loop joining finished tasks would otherwise never yield.
        let coop = ready!(coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: the task's output type is `T` (fixed when the handle was made),
        // `out` is a valid slot of the type the vtable writes, and the handle's
        // reference keeps the task alive across the call.
        unsafe {
            (self.header().vtable.try_read_output)(
                self.raw,
                NonNull::from(&mut out).cast(),
                cx.waker(),
            );
        }
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: the handle owns its reference and gives it up here.
        unsafe { (self.header().vtable.drop_join_handle)(self.raw) };
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
