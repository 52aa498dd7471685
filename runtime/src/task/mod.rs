//! Tasks: one allocation per spawned future, a state word, and the handles to it.
//!
//! Public: [`JoinHandle`], [`JoinSet`], [`JoinError`], [`AbortHandle`], [`Id`] with [`id()`] and
//! [`try_id()`], [`Builder`] with [`name()`], [`yield_now()`], [`consume_budget()`],
//! [`cooperative()`].
//! Crate-internal: the `Schedule` trait an executor implements, the `Task` /
//! `Notified` references it stores, the `OwnedTasks` registry it spawns through, and
//! the cooperative budget (`coop`) it sets around each poll.
//!
//! # Map
//!
//! | file | mechanism |
//! |---|---|
//! | `state.rs` | the atomic state word: flag bits, reference count, transitions |
//! | `raw.rs` | the single allocation (header, scheduler, stage, cold trailer) and the vtable |
//! | `harness.rs` | the typed code behind the vtable: run, complete, cancel, join, free |
//! | `waker.rs` | the task `Waker`: a counted reference, no allocation per wake |
//! | `id.rs` | `Id`, the global counter, the current task's id (set around polls and drops) |
//! | `name.rs` | `name()`: the current task's name, read from its trailer |
//! | `builder.rs` | `Builder`: spawning with a name |
//! | `join.rs` | `JoinHandle` |
//! | `abort.rs` | `AbortHandle`: cancel without the output |
//! | `join_set.rs` | `JoinSet`: handles in a slab, a shared ready list of finished keys |
//! | `error.rs` | `JoinError` |
//! | `owned.rs` | `OwnedTasks`, the per-runtime registry used for shutdown, and its counts |
//! | `refused.rs` | a task refused at spawn: cancelled at once, never registered |
//! | `yield_now.rs` | `yield_now` |
//! | `coop.rs` | the cooperative budget of one task poll; `consume_budget` |
//!
//! # Lifecycle
//!
//! `OwnedTasks::bind` allocates the task with three references (the registry's
//! `Task`, the first `Notified`, the `JoinHandle`) and `NOTIFIED` set. The executor
//! queues the `Notified`; `Notified::run` polls once. On `Pending` the task goes
//! idle until a waker sets `NOTIFIED` and hands the executor a new `Notified`
//! (a wake during the poll makes the runner do that itself, once). On `Ready`, a
//! panic, or cancellation, the runner stores the result, sets `COMPLETE`, wakes
//! the join waker and asks the scheduler to `release` the task from the registry.
//! The allocation is freed when the last reference goes.
//!
//! # Protocol
//!
//! The bits are documented in `state.rs`. Who may touch which field, and when:
//!
//! 1. **Stage while running.** The thread that set `RUNNING` (`transition_to_running`
//!    or `transition_to_shutdown`) has exclusive access to the stage until it sets
//!    `COMPLETE` (or clears `RUNNING` on `Pending`). The stage holds the future
//!    until that thread finishes it.
//! 2. **Result with a handle.** Once `COMPLETE` is set while `JOIN_INTEREST` is
//!    set, the `JoinHandle` has exclusive access to the stage: it takes the result
//!    or, when dropped, drops it.
//! 3. **Result without a handle.** If `JOIN_INTEREST` was clear when `COMPLETE` was
//!    set, the runner that set it drops the result; nobody else touches the stage
//!    until the count reaches zero.
//! 4. **Join waker published.** While `JOIN_WAKER` is set nobody writes the join
//!    waker cell; the runner that sets `COMPLETE` may read (wake) it, then clears
//!    the bit.
//! 5. **Join waker withdrawn.** While `JOIN_WAKER` is clear and `COMPLETE` is not
//!    set, only the `JoinHandle` reads or writes the cell. It publishes by setting
//!    the bit, which fails once `COMPLETE` is set.
//! 6. **Join waker after completion.** With `COMPLETE` set and `JOIN_WAKER` clear,
//!    the cell belongs to the `JoinHandle`, or, if it is gone, to whichever of the
//!    handle's drop and the runner's `unset_waker_after_complete` came second.
//! 7. **Local tasks.** A task bound with `bind_local` records its owner thread.
//!    Its future (and a result the runner would drop) is polled or dropped only on
//!    that thread. A runner on another thread completes the task as cancelled
//!    without polling; the future stays in the stage, dropped later if the last
//!    reference goes on the owner thread, and otherwise leaked with the whole
//!    allocation: a pinned future's memory may not be reused until it is dropped.
//!    The `JoinHandle` may take or drop a finished result anywhere, since it only
//!    crosses threads when its `T: Send`.
//! 8. **References.** Each `Task`, `Notified`, `JoinHandle`, `AbortHandle`, `Waker`,
//!    and the thread running a `Notified`, holds one reference; at zero, the last
//!    holder has exclusive access to everything and frees it. An `AbortHandle` only
//!    reads the state word and id and schedules a cancel; it never touches the stage. The scheduler lives inside the
//!    allocation, so code that calls `Schedule::schedule` (or `release`) keeps a
//!    reference of its own across the call: the `Notified` it passes may run to
//!    completion on another thread before the call returns.
//! 9. **Registry slot.** `Header::owned_key` (the task's shard and slot) is written
//!    once, under its `OwnedTasks` shard's mutex, before `bind` hands out the task's
//!    references; whoever later removes the task got it after that write.

mod abort;
mod builder;
pub(crate) mod coop;
mod error;
mod harness;
mod id;
mod join;
mod join_set;
mod name;
mod owned;
mod raw;
mod refused;
mod spawn;
mod state;
mod waker;
mod yield_now;

#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::thread::{self, ThreadId};

pub use abort::AbortHandle;
pub use builder::Builder;
pub use coop::{Cooperative, consume_budget, cooperative};
pub use error::JoinError;
pub use id::{Id, id, try_id};
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use name::name;
pub(crate) use owned::{ClosedCount, OwnedTasks};
pub(crate) use refused::refuse;
pub use spawn::{spawn, spawn_blocking, spawn_local};
pub use yield_now::yield_now;

use raw::Header;

/// Futures larger than this many bytes are boxed by the first frame of every public entry
/// point (`spawn`, `spawn_local`, `Handle::spawn`, `Handle::block_on`, `Runtime::spawn`,
/// `Runtime::block_on`), before anything else moves them. Each by-value move of a future
/// costs its size in stack, and a debug build copies every by-value argument into the
/// caller's frame, so a 256 KiB future moved through the frames down to the task
/// allocation would overflow a 2 MiB thread. The same in debug and release builds.
const BOX_FUTURE_THRESHOLD: usize = 2048;

/// Whether an entry point boxes a future of type `F` (see [`BOX_FUTURE_THRESHOLD`]).
///
/// Entry points test it as `if const { boxes::<F>() } { inner(Box::pin(future)) } else
/// { inner(future) }`: decided at compile time, the branch not taken is not compiled, so a
/// debug build does not reserve a second slot of the future's size for it.
pub(crate) const fn boxes<F>() -> bool {
    std::mem::size_of::<F>() > BOX_FUTURE_THRESHOLD
}

/// What an executor provides to the tasks it runs.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Pushes a notified task onto a run queue. May be called from any thread,
    /// including from inside a task's poll or a future's destructor.
    fn schedule(&self, task: Notified<Self>)
    where
        Self: Sized;

    /// The task finished: remove it from the owner registry
    /// ([`OwnedTasks::remove`]) and return the registry's reference.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>
    where
        Self: Sized;

    /// The task's future yielded voluntarily ([`yield_now()`]) and asks to run again.
    /// Defaults to [`schedule`](Schedule::schedule); an executor may put it behind
    /// other ready tasks instead.
    fn yield_now(&self, task: Notified<Self>)
    where
        Self: Sized,
    {
        self.schedule(task);
    }
}

/// An owned reference to a task, as held by [`OwnedTasks`].
pub(crate) struct Task<S: 'static> {
    raw: NonNull<Header>,
    _scheduler: PhantomData<S>,
}

/// A reference to a task that must be run: what sits in run queues.
///
/// Call [`run`](Notified::run) on it (on the owner thread for a local task). Dropping
/// it unrun is only correct once its registry is shut down; before that, the
/// task would stay `NOTIFIED` and never be polled again.
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: a `Task` reaches the state word (atomic), the scheduler (`Send + Sync`
// by the `Schedule` bound) and the stage, which only the holder of `RUNNING`
// touches (rule 1) and, for a `!Send` future, only on its owner thread (rule 7).
unsafe impl<S: Schedule> Send for Task<S> {}

// SAFETY: through `&Task` only the header is reachable: the state word and
// `owned_key` are atomics, the rest is immutable after allocation.
unsafe impl<S: Schedule> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    /// Takes over one counted reference.
    ///
    /// # Safety
    ///
    /// `raw` is a live task with scheduler type `S`, and the caller gives this
    /// `Task` one reference it owns.
    unsafe fn from_raw(raw: NonNull<Header>) -> Task<S> {
        Task {
            raw,
            _scheduler: PhantomData,
        }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.raw
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive (rule 8).
        unsafe { self.raw.as_ref() }
    }

    /// The task's name (cold: an indirect call and an `Arc` clone).
    fn name(&self) -> Option<Arc<str>> {
        // SAFETY: our reference keeps the task alive across the call.
        unsafe { (self.header().vtable.name)(self.raw) }
    }

    /// Shuts the task down with this reference: cancels it now if idle, or marks
    /// it cancelled for its runner (see `OwnedTasks::close_and_shutdown_all`).
    fn shutdown(self) {
        let raw = ManuallyDrop::new(self).raw;
        // SAFETY: we hand our reference to `shutdown`, which consumes it.
        unsafe { (raw.as_ref().vtable.shutdown)(raw) };
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        // SAFETY: we own this reference and give it up here.
        unsafe { raw::drop_reference(self.raw) };
    }
}

impl<S: 'static> fmt::Debug for Task<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("ptr", &self.raw)
            .field("state", &self.header().state)
            .finish()
    }
}

impl<S: Schedule> Notified<S> {
    /// Takes over one counted reference, made for a `Notified` (`NOTIFIED` set).
    ///
    /// # Safety
    ///
    /// As [`Task::from_raw`].
    unsafe fn from_raw(raw: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded contract.
        Notified(unsafe { Task::from_raw(raw) })
    }

    /// Polls the task once (catching a panic into its `JoinError`), then completes
    /// it, leaves it idle, or reschedules it if it was woken during the poll.
    /// Does nothing if the task already finished or is running elsewhere.
    pub(crate) fn run(self) {
        let raw = ManuallyDrop::new(self).0.raw;
        // SAFETY: our reference passes to `run`, which consumes it.
        unsafe { (raw.as_ref().vtable.run)(raw) };
    }

    /// The task's id, for the `JoinError` a caller of `cancel_with` builds.
    pub(crate) fn id(&self) -> Id {
        self.0.header().id
    }

    /// The task's name, if it was spawned with one (for the long-poll watchdog).
    pub(crate) fn name(&self) -> Option<Arc<str>> {
        self.0.name()
    }

    /// Completes the task with `err` without polling it; its future is dropped
    /// and its `JoinHandle` yields `err`. For the blocking pool when no thread can
    /// be started for the task (`JoinError::spawn_failed`). Does nothing if the
    /// task already finished.
    pub(crate) fn cancel_with(self, err: JoinError) {
        let raw = ManuallyDrop::new(self).0.raw;
        // SAFETY: our reference passes to `cancel_with`, which consumes it.
        unsafe { (raw.as_ref().vtable.cancel_with)(raw, err) };
    }
}

impl<S: 'static> fmt::Debug for Notified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Notified").field(&self.0).finish()
    }
}

thread_local! {
    /// This thread's id, cached by the first `bind_local` on it. Const-initialised
    /// without destructor, so it is readable even while thread locals are torn
    /// down, when `thread::current()` would panic.
    static THREAD_ID: Cell<Option<ThreadId>> = const { Cell::new(None) };
}

/// The current thread's id, cached for `is_current_thread`.
fn current_thread_id() -> ThreadId {
    THREAD_ID.with(|cached| match cached.get() {
        Some(id) => id,
        None => {
            let id = thread::current().id();
            cached.set(Some(id));
            id
        }
    })
}

/// Is `owner` the current thread? A thread that never bound a local task has no
/// cached id and owns none, so this never needs `thread::current()`.
fn is_current_thread(owner: ThreadId) -> bool {
    THREAD_ID
        .try_with(|cached| cached.get() == Some(owner))
        .unwrap_or(false)
}
