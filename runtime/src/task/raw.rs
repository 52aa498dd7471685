//! Task memory: one allocation per task holding the header, the scheduler and the
//! stage, and the vtable that lets untyped handles reach the typed code.
//!
//! ```text
//! Cell<F, S>  (#[repr(C)], one Box)
//! +-- Head<S>  (#[repr(C)])
//! |   +-- Header: state word, &'static Vtable, id, registry slot, owner thread, join waker
//! |   +-- S: the scheduler
//! +-- UnsafeCell<Stage<F>>: Running(F) -> Finished(Result<F::Output, JoinError>) -> Consumed
//! +-- Trailer: the cold part, read off the hot paths: the task's name
//! ```
//!
//! `Task`, `Notified`, `JoinHandle` and wakers all hold a `NonNull<Header>`. The
//! `#[repr(C)]` prefixes make that pointer also a pointer to `Head<S>` (for code that
//! knows `S`) and to `Cell<F, S>` (for the vtable functions, which know both).
//! Who may touch which field when is the protocol in `task/mod.rs`.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::AtomicUsize;

use super::Schedule;
use super::error::JoinError;
use super::harness;
use super::id::Id;
use super::state::{RefDec, State};
pub(super) use crate::wake::discard_panic;

/// The type-independent part of a task, at offset 0 of its allocation.
pub(crate) struct Header {
    /// Flags and reference count (`state.rs`).
    pub(super) state: State,
    /// The typed functions for this task's `F` and `S`.
    pub(super) vtable: &'static Vtable,
    /// The task's id; immutable after allocation.
    pub(super) id: Id,
    /// This task's shard and slot in `OwnedTasks`, packed (`owned.rs`). Written once,
    /// under the shard's mutex, before the task's handles exist; read by `remove`,
    /// which got the task through a hand-off ordered after that write, so `Relaxed`
    /// suffices.
    pub(super) owned_key: AtomicUsize,
    /// `Some` for a local (`!Send`) task: the only thread that may poll or drop
    /// its future or output.
    pub(super) owner_thread: Option<ThreadId>,
    /// The `JoinHandle`'s waker. Guarded by `JOIN_WAKER` (protocol rules 4-6).
    join_waker: UnsafeCell<Option<Waker>>,
}

/// Header followed by the scheduler: what code that knows only `S` can reach.
#[repr(C)]
pub(super) struct Head<S> {
    pub(super) header: Header,
    pub(super) scheduler: S,
}

/// The whole allocation.
#[repr(C)]
pub(super) struct Cell<F: Future, S> {
    pub(super) head: Head<S>,
    pub(super) stage: UnsafeCell<Stage<F>>,
    pub(super) trailer: Trailer,
}

/// What only cold paths read (a `JoinError`, `task::name()`, shutdown reports, the
/// long-poll watchdog): kept out of the header the scheduler touches on every poll.
/// Immutable after allocation. An unnamed task stores `None`: one word, no allocation
/// (the name is boxed so the trailer stays one word; a 112-byte task then still fits
/// the allocator's 128-byte chunk, as before names existed).
pub(super) struct Trailer {
    pub(super) name: Option<Box<Arc<str>>>,
}

/// What the task holds: its future, then its result, then nothing.
pub(super) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The typed entry points of one `Cell<F, S>`. Each takes a pointer to its header;
/// which reference it consumes, if any, is said on the field.
pub(super) struct Vtable {
    /// `Notified::run`; consumes the `Notified` reference.
    pub(super) run: unsafe fn(NonNull<Header>),
    /// Pushes a `Notified` made of one already counted reference to the scheduler.
    pub(super) schedule: unsafe fn(NonNull<Header>),
    /// `Notified::cancel_with`; consumes the `Notified` reference.
    pub(super) cancel_with: unsafe fn(NonNull<Header>, JoinError),
    /// `Task::shutdown`; consumes the registry's reference.
    pub(super) shutdown: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: writes `Poll<Result<F::Output, JoinError>>` to the second
    /// argument when the result is ready, else registers the waker.
    pub(super) try_read_output: unsafe fn(NonNull<Header>, NonNull<()>, &Waker),
    /// `JoinHandle::drop`; consumes the handle's reference.
    pub(super) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Frees the allocation once the count is zero.
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    /// The task's name (a clone of the `Arc`), from the trailer; borrows a reference.
    pub(super) name: unsafe fn(NonNull<Header>) -> Option<Arc<str>>,
}

/// The vtable of `Cell<F, S>` (a promoted constant: no allocation).
fn vtable<F: Future, S: Schedule>() -> &'static Vtable {
    &Vtable {
        run: harness::run::<F, S>,
        schedule: harness::schedule::<S>,
        cancel_with: harness::cancel_with::<F, S>,
        shutdown: harness::shutdown::<F, S>,
        try_read_output: harness::try_read_output::<F, S>,
        drop_join_handle: harness::drop_join_handle::<F, S>,
        dealloc: harness::dealloc::<F, S>,
        name: harness::name::<F, S>,
    }
}

/// Allocates a task in its initial state (three references, see `state.rs`).
pub(super) fn allocate<F, S>(
    future: F,
    scheduler: S,
    owner_thread: Option<ThreadId>,
    name: Option<Arc<str>>,
) -> NonNull<Header>
where
    F: Future + 'static,
    S: Schedule,
{
    let header = Header {
        state: State::new(),
        vtable: vtable::<F, S>(),
        id: Id::next(),
        owned_key: AtomicUsize::new(usize::MAX),
        owner_thread,
        join_waker: UnsafeCell::new(None),
    };
    // Written field by field into the allocation: building the `Cell` first and then
    // boxing it would move the future through more temporaries, each a copy on the stack
    // in a debug build.
    let mut cell = Box::<Cell<F, S>>::new_uninit();
    let ptr = cell.as_mut_ptr();
    // SAFETY: `ptr` points to a fresh allocation sized and aligned for a `Cell<F, S>`;
    // each field is written once, without reading or dropping what was there.
    unsafe {
        (&raw mut (*ptr).head).write(Head { header, scheduler });
        (&raw mut (*ptr).trailer).write(Trailer {
            name: name.map(Box::new),
        });
        #[cfg(not(all(test, loom)))]
        UnsafeCell::raw_get(&raw mut (*ptr).stage).write(Stage::Running(future));
        // loom's cell is not a transparent wrapper: build it, then move it in.
        #[cfg(all(test, loom))]
        (&raw mut (*ptr).stage).write(UnsafeCell::new(Stage::Running(future)));
    }
    // SAFETY: every field of the `Cell` was initialised just above.
    let cell = unsafe { cell.assume_init() };
    NonNull::from(Box::leak(cell)).cast()
}

/// Drops one reference; frees the task if it was the last.
///
/// # Safety
///
/// `ptr` is the header of a live task and the caller owns one reference to it.
pub(super) unsafe fn drop_reference(ptr: NonNull<Header>) {
    // SAFETY: our reference keeps the header live until the decrement; the
    // vtable is read before it, and after it only if nobody else is left.
    let (vtable, dec) = unsafe {
        let header = ptr.as_ref();
        (header.vtable, header.state.ref_dec())
    };
    if dec == RefDec::Dealloc {
        // SAFETY: ours was the last reference.
        unsafe { (vtable.dealloc)(ptr) };
    }
}

impl Header {
    /// Runs `f` on the join waker.
    ///
    /// # Safety
    ///
    /// The caller has read access by protocol rule 4 (`JOIN_WAKER` set and `COMPLETE`
    /// set by the caller) or write access by rule 5 or 6, for the whole call.
    pub(super) unsafe fn with_join_waker<R>(&self, f: impl FnOnce(&Option<Waker>) -> R) -> R {
        // SAFETY: the caller has at least read access (contract above), so no one
        // writes the cell while `f` holds this shared reference.
        self.join_waker.with(|waker| f(unsafe { &*waker }))
    }

    /// Replaces the join waker, returning the old one (for the caller to drop once
    /// the state word is consistent again).
    ///
    /// # Safety
    ///
    /// The caller has exclusive access to the cell (protocol rule 5 or 6).
    pub(super) unsafe fn replace_join_waker(&self, waker: Option<Waker>) -> Option<Waker> {
        // SAFETY: exclusive access by the caller's contract.
        self.join_waker
            .with_mut(|cell| unsafe { ptr::replace(cell, waker) })
    }
}

impl<F: Future> Stage<F> {
    /// Polls the future in place.
    ///
    /// # Safety
    ///
    /// The caller holds `RUNNING` (rule 1), and the stage is `Running` (it is until
    /// the holder of `RUNNING` finishes it).
    pub(super) unsafe fn poll(
        stage: &UnsafeCell<Stage<F>>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        stage.with_mut(|stage| {
            // SAFETY: exclusive access under rule 1; the future never moves: it lives
            // in the task allocation until dropped in place, so pinning it is sound.
            let future = unsafe {
                match &mut *stage {
                    Stage::Running(future) => Pin::new_unchecked(future),
                    _ => unreachable!("a task was polled after it finished"),
                }
            };
            future.poll(cx)
        })
    }

    /// Whether the stage still holds the future.
    ///
    /// # Safety
    ///
    /// Nobody writes the stage concurrently (rules 1-3).
    pub(super) unsafe fn is_running(stage: &UnsafeCell<Stage<F>>) -> bool {
        // SAFETY: reading the discriminant under the caller's access.
        stage.with(|stage| matches!(unsafe { &*stage }, Stage::Running(_)))
    }

    /// Whether the stage holds neither the future nor a result.
    ///
    /// # Safety
    ///
    /// Nobody writes the stage concurrently (rules 1-3, or a count of zero).
    pub(super) unsafe fn is_consumed(stage: &UnsafeCell<Stage<F>>) -> bool {
        // SAFETY: reading the discriminant under the caller's access.
        stage.with(|stage| matches!(unsafe { &*stage }, Stage::Consumed))
    }

    /// Drops the future or result in place and leaves `Consumed`. A panicking
    /// destructor is caught and its payload discarded: the stage is consumed
    /// either way.
    ///
    /// # Safety
    ///
    /// The caller has exclusive access (rules 1-3), and it is allowed to drop the
    /// contents on this thread (rule 7).
    pub(super) unsafe fn drop_in_place(stage: &UnsafeCell<Stage<F>>) {
        let result = stage.with_mut(|stage| {
            // SAFETY: exclusive access; the value is dropped where it lies, as
            // pinning requires, and is never used again: `Consumed` is written over
            // it below.
            let result =
                panic::catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(stage) }));
            // SAFETY: the old value is dropped (even if its destructor unwound), so
            // overwriting it without dropping is correct.
            unsafe { ptr::write(stage, Stage::Consumed) };
            result
        });
        if let Err(payload) = result {
            discard_panic(payload);
        }
    }

    /// Stores the task's result.
    ///
    /// # Safety
    ///
    /// The caller holds `RUNNING`, and the stage is `Consumed`.
    pub(super) unsafe fn store_output(
        stage: &UnsafeCell<Stage<F>>,
        output: Result<F::Output, JoinError>,
    ) {
        // SAFETY: exclusive access under rule 1; `Consumed` owns nothing, so
        // overwriting it leaks nothing.
        stage.with_mut(|stage| unsafe { ptr::write(stage, Stage::Finished(output)) });
    }

    /// Moves the result out, leaving `Consumed`.
    ///
    /// A local task cancelled from a foreign thread keeps its future (rule 7); its
    /// handle then reads "cancelled" and the future stays where it is.
    ///
    /// # Safety
    ///
    /// The caller owns the stage as the `JoinHandle` (rule 2).
    pub(super) unsafe fn take_output(
        stage: &UnsafeCell<Stage<F>>,
        id: Id,
        name: impl FnOnce() -> Option<Arc<str>>,
    ) -> Result<F::Output, JoinError> {
        let taken = stage.with_mut(|stage| {
            // SAFETY: exclusive access under rule 2.
            if matches!(unsafe { &*stage }, Stage::Running(_)) {
                return None;
            }
            // SAFETY: as above.
            Some(unsafe { ptr::replace(stage, Stage::Consumed) })
        });
        match taken {
            None => Err(JoinError::cancelled(id).with_name(name())),
            Some(Stage::Finished(output)) => output,
            Some(_) => panic!("`JoinHandle` polled after it returned `Poll::Ready`"),
        }
    }
}
