//! `task::Id`: a unique number per task, and the thread-local "task being run here" (its
//! id, and its header for `task::name()`).
//!
//! Ids come from one global counter starting at 1, so they are never zero and never
//! reused within a process (a `u64` does not wrap in practice). The harness sets the
//! current id with [`enter`] around every poll of a task's future and every drop of its
//! future or output done by the runtime; the guard restores the previous value, so a
//! nested `block_on` on another runtime inside a task sees the right id at each level.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::raw::Header;

/// An opaque id, unique among all tasks this process ever spawned.
///
/// Read it from [`JoinHandle::id`](super::JoinHandle::id),
/// [`AbortHandle::id`](super::AbortHandle::id), [`JoinError::id`](super::JoinError::id),
/// or inside the task with [`id()`] / [`try_id()`].
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = runtime::spawn(async { runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// The next id to hand out.
static NEXT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The header of the task whose future this thread is polling or dropping, if any:
    /// live for as long as it is current, since the code that entered holds a reference.
    /// One word, as cheap to set around every poll as the id alone was. Const-initialised
    /// without destructor: readable during thread-local teardown.
    static CURRENT: Cell<Option<NonNull<Header>>> = const { Cell::new(None) };
}

impl Id {
    /// A fresh id. Only uniqueness matters, so `Relaxed` suffices.
    pub(super) fn next() -> Id {
        let n = NEXT.fetch_add(1, Relaxed);
        Id(NonZeroU64::new(n).expect("task ids never wrap around a u64"))
    }

    /// The id as a number (for logs and the `Display` impl).
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// The id of the task currently running on this thread.
///
/// # Panics
///
/// Outside a task, for example in `block_on`'s own future or on a plain thread; call
/// [`try_id()`] where there may be no task.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let id = runtime::spawn(async { runtime::task::id() }).await.unwrap();
/// assert_ne!(id.as_u64(), 0);
/// # });
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect(
        "`task::id()` called outside a task; use `task::try_id()` where there may be no task",
    )
}

/// The id of the task currently running on this thread, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    let header = current_header()?;
    // SAFETY: a current header is live (see `CURRENT`); the id is immutable.
    Some(unsafe { header.as_ref().id })
}

/// The header of the task being polled or dropped on this thread, if any. It stays live
/// while the caller is inside that poll or drop (the runner holds a reference).
pub(super) fn current_header() -> Option<NonNull<Header>> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Makes the task at `header` current until the guard drops, which restores the previous
/// one. The caller holds a reference to the task for the guard's lifetime.
#[inline]
pub(super) fn enter(header: NonNull<Header>) -> EnterGuard {
    // During thread-local teardown nothing is set, and the guard's restore fails alike.
    EnterGuard(
        CURRENT
            .try_with(|cell| cell.replace(Some(header)))
            .unwrap_or(None),
    )
}

/// Restores the previous current task on drop (see [`enter`]).
pub(super) struct EnterGuard(Option<NonNull<Header>>);

impl Drop for EnterGuard {
    #[inline]
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|cell| cell.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_non_zero() {
        let (a, b) = (Id::next(), Id::next());
        assert_ne!(a, b);
        assert!(a.as_u64() > 0 && b.as_u64() > 0);
        assert_eq!(a.to_string(), a.as_u64().to_string());
        assert_eq!(format!("{a:?}"), format!("Id({a})"));
    }

    #[test]
    fn enter_sets_and_nested_guards_restore() {
        use crate::task::{Notified, OwnedTasks, Schedule, Task};

        /// A scheduler that never runs anything: the tasks only lend their headers.
        struct Idle;

        impl Schedule for Idle {
            fn schedule(&self, _: Notified<Self>) {}

            fn release(&self, _: &Task<Self>) -> Option<Task<Self>> {
                None
            }
        }

        let owned = OwnedTasks::new();
        let (outer, _) = owned.bind(async {}, Idle, None);
        let (inner, _) = owned.bind(async {}, Idle, None);
        assert_eq!(try_id(), None);
        let g1 = enter(outer.raw_header());
        assert_eq!(id(), outer.id());
        {
            let _g2 = enter(inner.raw_header());
            assert_eq!(id(), inner.id());
        }
        assert_eq!(id(), outer.id());
        drop(g1);
        assert_eq!(try_id(), None);
        owned.close_and_shutdown_all();
    }

    #[test]
    #[should_panic(expected = "outside a task")]
    fn id_outside_a_task_panics() {
        let _ = id();
    }
}
