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
    /// The task whose future this thread is polling or dropping, if any: its id and,
    /// for the harness, its header (live for as long as the entry is current, since the
    /// code that entered holds a reference). Const-initialised without destructor:
    /// readable during thread-local teardown.
    static CURRENT: Cell<Option<Current>> = const { Cell::new(None) };
}

/// One entry of [`CURRENT`].
#[derive(Clone, Copy)]
struct Current {
    id: Id,
    header: Option<NonNull<Header>>,
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
    CURRENT.try_with(Cell::get).ok().flatten().map(|c| c.id)
}

/// The header of the task being polled or dropped on this thread, if any. It stays live
/// while the caller is inside that poll or drop (the runner holds a reference).
pub(super) fn current_header() -> Option<NonNull<Header>> {
    CURRENT.try_with(Cell::get).ok().flatten()?.header
}

/// Makes the task with `id` and `header` current until the guard drops, which restores
/// the previous one. The caller holds a reference to the task for the guard's lifetime.
pub(super) fn enter(id: Id, header: NonNull<Header>) -> EnterGuard {
    enter_current(Current {
        id,
        header: Some(header),
    })
}

fn enter_current(current: Current) -> EnterGuard {
    EnterGuard(CURRENT.try_with(|cell| cell.replace(Some(current))).ok())
}

/// Restores the previous current task on drop (see [`enter`]).
pub(super) struct EnterGuard(Option<Option<Current>>);

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.0 {
            let _ = CURRENT.try_with(|cell| cell.set(previous));
        }
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
        assert_eq!(try_id(), None);
        let (outer, inner) = (Id::next(), Id::next());
        let headerless = |id| Current { id, header: None };
        let g1 = enter_current(headerless(outer));
        assert_eq!(id(), outer);
        {
            let _g2 = enter_current(headerless(inner));
            assert_eq!(id(), inner);
        }
        assert_eq!(id(), outer);
        drop(g1);
        assert_eq!(try_id(), None);
    }

    #[test]
    #[should_panic(expected = "outside a task")]
    fn id_outside_a_task_panics() {
        let _ = id();
    }
}
