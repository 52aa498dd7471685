//! The typed code behind the vtable: run a task, complete it, cancel it, serve its
//! `JoinHandle`, free it. Each step applies one state transition (`state.rs`) and
//! then does what the returned enum names; the rules cited are in `task/mod.rs`.
//!
//! ```text
//! run ──transition_to_running──> poll ──Ready/panic──> finish ─> complete ─> release
//!   │                             └──Pending──> transition_to_idle ─> (reschedule | cancel)
//!   └─ cancelled ─> finish(Err(cancelled)) ─> complete
//! ```

use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::loom::cell::UnsafeCell;

use super::error::JoinError;
use super::id::{self, Id};
use super::raw::{self, Cell, Head, Header, Stage};
use super::state::{
    JoinWakerUpdate, RefDec, State, TransitionToComplete, TransitionToIdle, TransitionToRunning,
    TransitionToShutdown, UnsetWakerAfterComplete,
};
use super::{Notified, Schedule, Task, coop, waker, yield_now};

// The vtable entries. Each has the same `# Safety` contract: `ptr` is the header
// of a live `Cell<F, S>` with these `F` and `S`, and the caller owns the
// reference the entry's doc in `raw::Vtable` says it consumes (or holds one
// across the call).

/// `Vtable::run`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn run<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.run();
}

/// `Vtable::schedule`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract: one counted reference becomes the `Notified`, and the
    // caller holds another across this call, so the borrowed scheduler stays
    // alive even if the `Notified` runs to completion meanwhile (rule 8).
    let (notified, scheduler) = unsafe {
        (
            Notified::<S>::from_raw(ptr),
            &ptr.cast::<Head<S>>().as_ref().scheduler,
        )
    };
    scheduler.schedule(notified);
}

/// `Vtable::cancel_with`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn cancel_with<F: Future, S: Schedule>(ptr: NonNull<Header>, err: JoinError) {
    // SAFETY: vtable contract above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.cancel_with(err);
}

/// `Vtable::shutdown`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.shutdown();
}

/// `Vtable::try_read_output`; `dst` points to a `Poll<Result<F::Output, JoinError>>`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: NonNull<()>,
    waker: &Waker,
) {
    // SAFETY: vtable contract above; the `JoinHandle<F::Output>` passes its own
    // exclusive output slot as `dst`.
    let (harness, dst) = unsafe {
        (
            Harness::<F, S>::from_raw(ptr),
            dst.cast::<Poll<Result<F::Output, JoinError>>>().as_mut(),
        )
    };
    if harness.join_output_ready(waker) {
        *dst = Poll::Ready(harness.take_output());
    }
}

/// `Vtable::drop_join_handle`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.drop_join_handle();
}

/// `Vtable::dealloc`.
///
/// # Safety
///
/// The vtable contract above.
pub(super) unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract above; the count is zero.
    unsafe { Harness::<F, S>::from_raw(ptr) }.dealloc();
}

/// `Vtable::name`.
///
/// # Safety
///
/// The vtable contract above (the caller holds a reference across the call).
pub(super) unsafe fn name<F: Future, S: Schedule>(ptr: NonNull<Header>) -> Option<Arc<str>> {
    // SAFETY: vtable contract above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.name()
}

/// A typed view of one task. Methods taking `self` consume the reference the
/// harness was made from; methods taking `&self` borrow it.
struct Harness<F: Future, S> {
    cell: NonNull<Cell<F, S>>,
}

impl<F: Future, S: Schedule> Harness<F, S> {
    /// # Safety
    ///
    /// `ptr` is the header of a live `Cell<F, S>` and the caller owns (or holds
    /// across every use of the harness) one reference to it.
    unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Harness { cell: ptr.cast() }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.cell.cast()
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the allocation alive; the header is only
        // ever accessed through shared references (its mutable parts are atomics
        // and an `UnsafeCell`).
        unsafe { self.header_ptr().as_ref() }
    }

    fn id(&self) -> Id {
        self.header().id
    }

    /// The task's name; the trailer is immutable after allocation.
    fn name(&self) -> Option<Arc<str>> {
        // SAFETY: our reference keeps the allocation alive; the trailer is only read.
        unsafe { (*self.cell.as_ptr()).trailer.name.as_deref().cloned() }
    }

    fn state(&self) -> &State {
        &self.header().state
    }

    fn scheduler(&self) -> &S {
        // SAFETY: `Head<S>` is the `#[repr(C)]` prefix of `Cell<F, S>`; our
        // reference keeps it alive and the scheduler is only shared.
        unsafe { &self.cell.cast::<Head<S>>().as_ref().scheduler }
    }

    fn stage(&self) -> &UnsafeCell<Stage<F>> {
        // SAFETY: our reference keeps the allocation alive; the reference covers the
        // stage field only, which is all interior mutability (its `UnsafeCell`).
        unsafe { &(*self.cell.as_ptr()).stage }
    }

    /// Rule 7: may this thread poll or drop the future (or runner-held result)?
    fn on_owner_thread(&self) -> bool {
        self.header()
            .owner_thread
            .is_none_or(super::is_current_thread)
    }

    fn run(self) {
        match self.state().transition_to_running() {
            TransitionToRunning::Success => self.poll_and_settle(),
            TransitionToRunning::Cancelled => self.finish_cancelled(),
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// We hold `RUNNING`: poll once and act on the result.
    fn poll_and_settle(self) {
        if !self.on_owner_thread() {
            // Rule 7: never poll a local future on a foreign thread. Cancelling
            // keeps the join handle from waiting forever; the future is left alone.
            return self.finish_cancelled();
        }
        let (poll, yielded) = yield_now::track(|| coop::budget(|| self.poll_future()));
        match poll {
            Poll::Ready(output) => self.finish(output),
            Poll::Pending => self.settle_pending(yielded),
        }
    }

    /// Polls the future; a panic becomes the task's `JoinError`.
    fn poll_future(&self) -> Poll<Result<F::Output, JoinError>> {
        let waker = waker::borrowed(self.header_ptr());
        let mut cx = Context::from_waker(&waker);
        let _id = id::enter(self.header_ptr());
        // SAFETY: we hold `RUNNING` (rule 1), and a task is `Running` until the
        // holder of `RUNNING` finishes it, which then also sets `COMPLETE`.
        let polled = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
            Stage::poll(self.stage(), &mut cx)
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => {
                let err = JoinError::panic(self.id(), payload).with_name(self.name());
                Poll::Ready(Err(err))
            }
        }
    }

    /// The poll returned `Pending`: go idle, or reschedule, or cancel.
    fn settle_pending(self, yielded: bool) {
        match self.state().transition_to_idle() {
            TransitionToIdle::Ok => {}
            TransitionToIdle::OkNotified => {
                self.submit(yielded);
                self.drop_reference();
            }
            TransitionToIdle::OkDealloc => self.dealloc(),
            TransitionToIdle::Cancelled => self.finish_cancelled(),
        }
    }

    /// Hands the reference counted by `transition_to_idle` to the scheduler.
    fn submit(&self, yielded: bool) {
        // SAFETY: `transition_to_idle` counted this reference for a `Notified`; we
        // keep our own across the call (rule 8).
        let notified = unsafe { Notified::from_raw(self.header_ptr()) };
        if yielded {
            self.scheduler().yield_now(notified);
        } else {
            self.scheduler().schedule(notified);
        }
    }

    /// We hold `RUNNING`: finish as cancelled.
    fn finish_cancelled(self) {
        let err = JoinError::cancelled(self.id()).with_name(self.name());
        self.finish(Err(err));
    }

    /// We hold `RUNNING`: drop the future, store `output`, complete.
    fn finish(self, output: Result<F::Output, JoinError>) {
        if self.on_owner_thread() {
            // The future's destructor sees its own task id, as during a poll.
            let _id = id::enter(self.header_ptr());
            // SAFETY: we hold `RUNNING` (rule 1) on the owner thread (rule 7); the
            // stage is `Consumed` after `drop_in_place`.
            unsafe {
                Stage::drop_in_place(self.stage());
                Stage::store_output(self.stage(), output);
            }
        }
        // Else rule 7 leaves the future in place, and `output` is the error of a
        // task never polled here; the join handle reads "cancelled".
        self.complete();
    }

    /// Sets `COMPLETE`, leaves the registry, hands the result over, drops our
    /// reference.
    ///
    /// The registry is left before the `JoinHandle` is woken: whoever sees the result
    /// then also sees the task gone from its runtime (a graceful shutdown that begins
    /// right after a `JoinHandle` returned must not count that task as finishing in its
    /// grace period).
    fn complete(self) {
        let action = self.state().transition_to_complete();
        let refs = self.release();
        match action {
            TransitionToComplete::DropOutput => self.drop_output_as_runner(),
            TransitionToComplete::WakeJoinHandle => self.wake_join_handle(),
            TransitionToComplete::Nothing => {}
        }
        if self.state().ref_dec_by(refs) == RefDec::Dealloc {
            self.dealloc();
        }
    }

    /// Nobody will read the result: drop it now, on the thread that produced it.
    fn drop_output_as_runner(&self) {
        if self.on_owner_thread() {
            let _id = id::enter(self.header_ptr());
            // SAFETY: rule 3, we set `COMPLETE` without `JOIN_INTEREST`; rule 7 holds.
            unsafe { Stage::drop_in_place(self.stage()) };
        }
    }

    /// Wakes the join waker published before completion; a panicking waker is
    /// caught so the state word is still settled.
    fn wake_join_handle(&self) {
        // SAFETY: rule 4: `JOIN_WAKER` was set when we set `COMPLETE`, so the cell
        // is read-only until we clear the bit below.
        unsafe { self.header().with_join_waker(wake_caught) };
        match self.state().unset_waker_after_complete() {
            UnsetWakerAfterComplete::DropWaker => {
                // SAFETY: rule 6: the handle is gone and we cleared the bit.
                let waker = unsafe { self.header().replace_join_waker(None) };
                drop_waker_caught(waker);
            }
            UnsetWakerAfterComplete::LeaveToJoinHandle => {}
        }
    }

    /// Asks the scheduler to remove the task from its registry; returns how many
    /// references to drop: ours, plus the registry's if it handed it back.
    fn release(&self) -> usize {
        // SAFETY: a view of our own reference; `ManuallyDrop` keeps it uncounted.
        let me = ManuallyDrop::new(unsafe { Task::<S>::from_raw(self.header_ptr()) });
        match self.scheduler().release(&me) {
            Some(task) if task.header_ptr() == me.header_ptr() => {
                mem::forget(task);
                2
            }
            // A scheduler bug; dropping the stranger is still correct.
            Some(other) => {
                drop(other);
                1
            }
            None => 1,
        }
    }

    /// `Task::shutdown` with the registry's reference.
    fn shutdown(self) {
        match self.state().transition_to_shutdown() {
            TransitionToShutdown::Cancel => self.finish_cancelled(),
            TransitionToShutdown::DropReference => self.drop_reference(),
        }
    }

    /// `Notified::cancel_with`: complete with `err` instead of polling.
    fn cancel_with(self, err: JoinError) {
        match self.state().transition_to_running() {
            TransitionToRunning::Success | TransitionToRunning::Cancelled => {
                let err = err.with_name(self.name());
                self.finish(Err(err));
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// `JoinHandle::poll`: is the result ready? If not, make sure `waker` is the
    /// published join waker (rules 4-5).
    fn join_output_ready(&self, waker: &Waker) -> bool {
        let snapshot = self.state().load();
        if snapshot.is_complete() {
            return true;
        }
        if snapshot.is_join_waker_set() {
            // SAFETY: rule 4: while `JOIN_WAKER` is set the cell is read-only.
            let same = unsafe {
                self.header()
                    .with_join_waker(|w| w.as_ref().is_some_and(|w| w.will_wake(waker)))
            };
            if same {
                return false;
            }
            if self.state().unset_join_waker() == JoinWakerUpdate::Completed {
                return true;
            }
        }
        self.publish_join_waker(waker.clone())
    }

    /// Writes `waker` to the cell and sets `JOIN_WAKER`; returns `true` if the task
    /// completed first (the result is then ready).
    fn publish_join_waker(&self, waker: Waker) -> bool {
        // SAFETY: rule 5: `JOIN_WAKER` is clear and the handle is the only writer.
        let old = unsafe { self.header().replace_join_waker(Some(waker)) };
        let completed = self.state().set_join_waker() == JoinWakerUpdate::Completed;
        let unused = if completed {
            // SAFETY: rule 6: complete with the bit clear: the handle owns the cell.
            unsafe { self.header().replace_join_waker(None) }
        } else {
            None
        };
        // User destructors run last, with the state word already consistent.
        drop(old);
        drop(unused);
        completed
    }

    /// `JoinHandle::poll` once `COMPLETE` is seen.
    fn take_output(&self) -> Result<F::Output, JoinError> {
        // SAFETY: rule 2: complete, and we are the `JoinHandle`.
        unsafe { Stage::take_output(self.stage(), self.id(), || self.name()) }
    }

    fn drop_join_handle(self) {
        let dropped = self.state().transition_to_join_handle_dropped();
        if dropped.drop_output {
            self.drop_output_as_join_handle();
        }
        if dropped.drop_waker {
            // SAFETY: rule 6 (complete) or 5 (we just cleared the bit): ours.
            let waker = unsafe { self.header().replace_join_waker(None) };
            drop_waker_caught(waker);
        }
        self.drop_reference();
    }

    /// The handle is dropped after completion and owns the stage (rule 2).
    fn drop_output_as_join_handle(&self) {
        // A finished result may be dropped on any thread the handle reached
        // (`JoinHandle<T>: Send` only if `T: Send`); a future left in place by a
        // foreign cancel only on its owner thread (rule 7).
        // SAFETY: rule 2 gives us the stage.
        let left_future = unsafe { Stage::is_running(self.stage()) };
        if left_future && !self.on_owner_thread() {
            return;
        }
        let _id = id::enter(self.header_ptr());
        // SAFETY: rule 2, and rule 7 checked above.
        unsafe { Stage::drop_in_place(self.stage()) };
    }

    fn drop_reference(self) {
        if self.state().ref_dec() == RefDec::Dealloc {
            self.dealloc();
        }
    }

    /// The count is zero: drop what is left and free the allocation.
    fn dealloc(self) {
        // SAFETY: count zero: nobody else can reach the allocation (rule 8).
        let consumed = unsafe { Stage::is_consumed(self.stage()) };
        if !consumed && !self.on_owner_thread() {
            // Rule 7: a local future (or result) must not be dropped here, and a
            // pinned future's memory must not be freed undropped: leak it all.
            return;
        }
        {
            let _id = id::enter(self.header_ptr());
            // SAFETY: exclusive (count zero) on an allowed thread (rule 7).
            unsafe { Stage::drop_in_place(self.stage()) };
        }
        // SAFETY: allocated as `Box<Cell<F, S>>` in `raw::allocate`; count zero,
        // so this is the only access.
        drop(unsafe { Box::from_raw(self.cell.as_ptr()) });
    }
}

/// Wakes a join waker by reference; a panicking waker is caught, the state is settled.
fn wake_caught(waker: &Option<Waker>) {
    if let Some(waker) = waker {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref())) {
            raw::discard_panic(payload);
        }
    }
}

/// Drops a join waker; a panicking destructor is caught, the state is settled.
fn drop_waker_caught(waker: Option<Waker>) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(waker))) {
        raw::discard_panic(payload);
    }
}
