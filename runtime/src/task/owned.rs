//! `OwnedTasks`: the registry of every live task of one runtime, so shutdown can
//! reach tasks that are idle and referenced only by wakers.
//!
//! A `Mutex<Slab<Task<S>>>`. A task's slab key is stored in its header
//! (`Header::owned_key`, read and written only under the mutex); removal also
//! compares the pointer, so a stale key or a foreign registry removes nothing.
//! The mutex is never held while task code runs (futures' destructors, wakers,
//! `Schedule` callbacks), so all of those may spawn, wake or release freely.

use std::fmt;
use std::future::Future;
use std::ptr::NonNull;

use slab::Slab;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::Ordering::Relaxed;

use super::join::JoinHandle;
use super::raw::{self, Header};
use super::{Notified, Schedule, Task};

/// Every live task bound to one runtime.
pub(crate) struct OwnedTasks<S: 'static> {
    inner: Mutex<Registry<S>>,
}

struct Registry<S: 'static> {
    tasks: Slab<Task<S>>,
    /// Set by `close_and_shutdown_all`; later `bind`s cancel their task at once.
    closed: bool,
}

impl<S: Schedule> OwnedTasks<S> {
    /// An empty, open registry.
    pub(crate) fn new() -> OwnedTasks<S> {
        OwnedTasks {
            inner: Mutex::new(Registry {
                tasks: Slab::new(),
                closed: false,
            }),
        }
    }

    /// Allocates a task for `future` and registers it.
    ///
    /// Returns its `JoinHandle` and the first `Notified`, which the caller must
    /// schedule. If the registry is closed, the task is cancelled at once (the
    /// future is dropped here, the handle resolves to a cancelled `JoinError`) and
    /// no `Notified` is returned.
    pub(crate) fn bind<F>(
        &self,
        future: F,
        scheduler: S,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let raw = raw::allocate(future, scheduler, None);
        // SAFETY: `allocate` just made `raw` with output type `F::Output` and three
        // references, one for each of the handles made here.
        unsafe { self.register(raw) }
    }

    /// Like [`bind`](Self::bind) for a `!Send` future: the current thread becomes
    /// the task's owner, the only thread that polls or drops its future.
    ///
    /// # Safety
    ///
    /// The scheduler must run the task only on this thread. Breaking this is not
    /// undefined behaviour — a runner on another thread cancels the task without
    /// polling it, and the future is leaked rather than dropped there (protocol
    /// rule 7) — but the task is lost, so it is a bug the caller signs off on here.
    pub(crate) unsafe fn bind_local<F>(
        &self,
        future: F,
        scheduler: S,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let raw = raw::allocate(future, scheduler, Some(super::current_thread_id()));
        // SAFETY: as in `bind`.
        unsafe { self.register(raw) }
    }

    /// Splits a fresh task's three references into its handles and registers it,
    /// or cancels it if the registry is closed.
    ///
    /// # Safety
    ///
    /// `raw` was just returned by `raw::allocate` with output type `T`.
    unsafe fn register<T>(&self, raw: NonNull<Header>) -> (JoinHandle<T>, Option<Notified<S>>) {
        // SAFETY: a fresh task holds three references: one for each of these.
        let (task, notified, join) = unsafe {
            (
                Task::<S>::from_raw(raw),
                Notified::<S>::from_raw(raw),
                JoinHandle::<T>::from_raw(raw),
            )
        };
        let mut inner = self.inner.lock();
        if inner.closed {
            drop(inner);
            drop(notified);
            task.shutdown();
            return (join, None);
        }
        let entry = inner.tasks.vacant_entry();
        task.header().owned_key.store(entry.key(), Relaxed);
        entry.insert(task);
        (join, Some(notified))
    }

    /// Removes `task` if it is registered here; returns the registry's reference.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let mut inner = self.inner.lock();
        let key = task.header().owned_key.load(Relaxed);
        let ours = inner
            .tasks
            .get(key)
            .is_some_and(|t| t.header_ptr() == task.header_ptr());
        ours.then(|| inner.tasks.remove(key))
    }

    /// Returns `true` if no task is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.lock().tasks.is_empty()
    }

    /// Number of registered tasks.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().tasks.len()
    }
}

impl<S: 'static> OwnedTasks<S> {
    /// Closes the registry and shuts down every task in it.
    ///
    /// An idle task has its future dropped here, exactly once, and its handle
    /// resolves to cancelled; a task being polled elsewhere is marked cancelled and
    /// its runner drops it when the poll returns. Destructors run without the
    /// mutex held: they may wake tasks or spawn (a spawn is cancelled at once).
    /// Calling it again does nothing more.
    pub(crate) fn close_and_shutdown_all(&self) {
        let tasks: Vec<Task<S>> = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.tasks.drain().collect()
        };
        // Closed, so nothing new is inserted: one pass reaches every task.
        for task in tasks {
            task.shutdown();
        }
    }
}

impl<S: Schedule> Default for OwnedTasks<S> {
    fn default() -> Self {
        OwnedTasks::new()
    }
}

/// A registry dropped with tasks still in it shuts them down, so no future
/// outlives its runtime's bookkeeping.
impl<S: 'static> Drop for OwnedTasks<S> {
    fn drop(&mut self) {
        self.close_and_shutdown_all();
    }
}

impl<S: 'static> fmt::Debug for OwnedTasks<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("OwnedTasks")
            .field("len", &inner.tasks.len())
            .field("closed", &inner.closed)
            .finish()
    }
}
