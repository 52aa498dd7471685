//! `AbortHandle`: a reference to a task that can cancel it, but never reads its output.

use std::fmt;
use std::ptr::NonNull;

use super::id::Id;
use super::raw::{self, Header};
use super::state::TransitionToNotifiedByRef;

/// An owned permission to cancel a task, without access to its result.
///
/// Made by [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle) or returned by
/// [`JoinSet::spawn`](super::JoinSet::spawn). Unlike the `JoinHandle`, it carries no
/// output type, so it is `Send + Sync` whatever the task returns, and dropping it does
/// nothing to the task. It keeps the task's allocation (not its future) alive.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = runtime::spawn(std::future::pending::<()>());
/// let abort = handle.abort_handle();
/// abort.abort();
/// assert!(handle.await.unwrap_err().is_cancelled());
/// assert!(abort.is_finished());
/// # });
/// ```
pub struct AbortHandle {
    raw: NonNull<Header>,
}

// SAFETY: through an `AbortHandle` only the state word (atomic), the id (immutable) and
// the scheduler (`Send + Sync` by the `Schedule` bound) are reached, never the stage; a
// last reference dropped on a foreign thread leaves a local future alone (rule 7).
unsafe impl Send for AbortHandle {}

// SAFETY: as for `Send`: `&AbortHandle` reaches only atomics and `Sync` data.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Wraps a counted reference.
    ///
    /// # Safety
    ///
    /// `raw` is a live task and the caller gives this handle one reference it owns.
    pub(super) unsafe fn from_raw(raw: NonNull<Header>) -> AbortHandle {
        AbortHandle { raw }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the task alive (rule 8).
        unsafe { self.raw.as_ref() }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort) does. Does
    /// nothing if it already finished.
    pub fn abort(&self) {
        // SAFETY: our reference outlives the call.
        unsafe { abort_task(self.raw) }
    }

    /// Returns `true` once the task has finished: completed, panicked, or cancelled.
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.header().id
    }
}

/// Marks the task cancelled; an idle task is scheduled once more so its runtime drops
/// the future.
///
/// # Safety
///
/// `raw` is a live task and the caller holds a reference to it across the call.
pub(super) unsafe fn abort_task(raw: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    let header = unsafe { raw.as_ref() };
    match header.state.transition_to_notified_and_cancel() {
        // SAFETY: the transition counted a reference for the `Notified`; the caller's
        // own reference outlives the call (protocol rule 8).
        TransitionToNotifiedByRef::Submit => unsafe { (header.vtable.schedule)(raw) },
        TransitionToNotifiedByRef::DoNothing => {}
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: the handle owns its reference and gives it up here.
        unsafe { raw::drop_reference(self.raw) };
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
