//! The task `Waker`: a counted reference to the task's header, nothing more.
//!
//! One static `RawWakerVTable` serves every task; it reaches the task's typed
//! code through `Header::vtable`. Waking allocates nothing: a wake either flips
//! `NOTIFIED` or hands one counted reference to the scheduler as a `Notified`.
//! A waker keeps the allocation alive, so it may be used after the task finished
//! or its runtime shut down; the state word then says there is nothing to do.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::{self, Header};
use super::state::{TransitionToNotifiedByRef, TransitionToNotifiedByVal};

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// A waker for the task being polled that borrows the runner's reference:
/// `ManuallyDrop` keeps that reference from being dropped; clones count their own.
pub(super) fn borrowed(header: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(header.as_ptr().cast_const().cast(), &WAKER_VTABLE);
    // SAFETY: `WAKER_VTABLE` upholds the `RawWaker` contract for a header pointer
    // backed by one reference; the runner holds that reference while the waker
    // is borrowed, and `ManuallyDrop` keeps this copy from releasing it.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// Turns the waker's data pointer back into the header pointer.
///
/// # Safety
///
/// `ptr` came from `borrowed` (directly or through `clone_waker`).
unsafe fn header(ptr: *const ()) -> NonNull<Header> {
    // SAFETY: the data pointer is a non-null header pointer (contract above).
    unsafe { NonNull::new_unchecked(ptr.cast_mut().cast()) }
}

/// # Safety
///
/// `RawWakerVTable::clone` contract: `ptr` is a live waker's data pointer.
unsafe fn clone_waker(ptr: *const ()) -> RawWaker {
    // SAFETY: the calling waker holds a reference, so the header is live.
    unsafe { header(ptr).as_ref() }.state.ref_inc();
    RawWaker::new(ptr, &WAKER_VTABLE)
}

/// # Safety
///
/// `RawWakerVTable::wake` contract: consumes the waker's reference.
unsafe fn wake_by_val(ptr: *const ()) {
    // SAFETY: the waker's reference keeps the header live until we drop it.
    let header = unsafe { header(ptr) };
    // SAFETY: as above; the vtable is read first, because the transition may
    // drop our reference and let another thread free the task.
    let (vtable, action) = unsafe {
        let header = header.as_ref();
        (header.vtable, header.state.transition_to_notified_by_val())
    };
    match action {
        TransitionToNotifiedByVal::Submit => {
            // SAFETY: the transition counted a reference for the `Notified`; ours
            // is kept across `schedule` (rule 8) and dropped after it.
            unsafe {
                (vtable.schedule)(header);
                raw::drop_reference(header);
            }
        }
        TransitionToNotifiedByVal::DoNothing => {}
        // SAFETY: our reference was the last one.
        TransitionToNotifiedByVal::Dealloc => unsafe { (vtable.dealloc)(header) },
    }
}

/// # Safety
///
/// `RawWakerVTable::wake_by_ref` contract: borrows the waker's reference.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the borrowed waker's reference keeps the header live.
    let header = unsafe { header(ptr) };
    // SAFETY: as above.
    let (vtable, action) = unsafe {
        let header = header.as_ref();
        (header.vtable, header.state.transition_to_notified_by_ref())
    };
    match action {
        // SAFETY: the transition counted a reference for the `Notified`; the
        // waker's reference outlives the call (rule 8).
        TransitionToNotifiedByRef::Submit => unsafe { (vtable.schedule)(header) },
        TransitionToNotifiedByRef::DoNothing => {}
    }
}

/// # Safety
///
/// `RawWakerVTable::drop` contract: consumes the waker's reference.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: we own the waker's reference.
    unsafe { raw::drop_reference(header(ptr)) };
}
