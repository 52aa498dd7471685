//! A task refused at spawn: allocated, then cancelled at once, never registered nor
//! scheduled. For a spawn a runtime refuses (from outside it, once its graceful shutdown
//! has begun), so the caller still gets a `JoinHandle`, which resolves to cancelled.

use std::future::Future;
use std::sync::Arc;

use super::join::JoinHandle;
use super::raw;
use super::{Notified, Schedule, Task};

/// Allocates a task for `future` that is cancelled at once: its future is dropped here
/// and its handle resolves to a cancelled `JoinError` carrying `name`.
#[cold]
#[inline(never)]
pub(crate) fn refuse<F>(future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let raw = raw::allocate(future, Refused, None, name);
    // SAFETY: `allocate` just made `raw` with output type `F::Output` and three
    // references: one for each of these.
    let (task, notified, join) = unsafe {
        (
            Task::<Refused>::from_raw(raw),
            Notified::<Refused>::from_raw(raw),
            JoinHandle::from_raw(raw),
        )
    };
    drop(notified);
    task.shutdown();
    join
}

/// The scheduler of a refused task: it is never scheduled nor registered.
struct Refused;

impl Schedule for Refused {
    fn schedule(&self, task: Notified<Self>) {
        drop(task); // already complete: nothing to run
    }

    fn release(&self, _: &Task<Self>) -> Option<Task<Self>> {
        None
    }
}
