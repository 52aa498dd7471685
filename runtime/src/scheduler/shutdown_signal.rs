//! The shutdown signal of one runtime: "a graceful shutdown has begun", for the tasks that
//! wait on it (`runtime::shutdown_started()`), for the spawn gate (spawns from outside the
//! runtime are refused from then on), and "no task is left" for the shutdown itself.
//!
//! # Protocol
//!
//! - `started` goes from `false` to `true` once, in [`ShutdownSignal::begin`], written
//!   under the `waiters` lock. A waiter checks it again under that lock before it
//!   registers, so it either sees `true` or is in the list that `begin` takes and wakes:
//!   no wakeup is lost. Readers outside the lock (`is_started`, the spawn gate) use
//!   `Acquire`, so a spawn that starts after `begin` returned on another thread sees it
//!   once the two threads are ordered (say, by the message that told the spawner); one
//!   racing `begin` may be admitted, and is then an ordinary task of the grace period.
//! - The drained waiter (the shutdown's own future) stores its waker under the lock
//!   *before* it looks at the task registry; a task that completes removes itself from
//!   the registry *before* it looks at `started` and the registry and wakes the drained
//!   waker under the lock. So when the last task leaves, either the shutdown's look saw
//!   the registry empty, or the task's look found the stored waker.

use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};

/// See the module docs.
pub(crate) struct ShutdownSignal {
    started: AtomicBool,
    waiters: Mutex<Waiters>,
}

struct Waiters {
    /// `shutdown_started()` futures that are waiting.
    started: Slab<Waker>,
    /// The graceful shutdown waiting for the registry to empty.
    drained: Option<Waker>,
}

impl ShutdownSignal {
    pub(crate) fn new() -> ShutdownSignal {
        ShutdownSignal {
            started: AtomicBool::new(false),
            waiters: Mutex::new(Waiters {
                started: Slab::new(),
                drained: None,
            }),
        }
    }

    /// Has a shutdown begun? One `Acquire` load: the spawn gate's fast path.
    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Marks the shutdown as begun and wakes every waiter. Returns `true` for the call
    /// that began it.
    pub(crate) fn begin(&self) -> bool {
        let wakers = {
            let mut waiters = self.waiters.lock();
            if self.started.load(Ordering::Relaxed) {
                return false;
            }
            self.started.store(true, Ordering::Release);
            std::mem::take(&mut waiters.started)
        };
        // Outside the lock: a waker may run arbitrary code.
        for (_, waker) in wakers {
            crate::wake::wake_caught(waker);
        }
        true
    }

    /// Polls "has a shutdown begun?" for the waiter registered at `key` (`None`: not
    /// registered yet; set on the first `Pending`).
    pub(crate) fn poll_started(&self, cx: &mut Context<'_>, key: &mut Option<usize>) -> Poll<()> {
        if self.is_started() {
            self.unregister(key);
            return Poll::Ready(());
        }
        let mut waiters = self.waiters.lock();
        if self.started.load(Ordering::Relaxed) {
            // `begin` took the list (and our entry with it) under this lock.
            *key = None;
            return Poll::Ready(());
        }
        match key.and_then(|k| waiters.started.get_mut(k)) {
            Some(waker) => waker.clone_from(cx.waker()),
            None => *key = Some(waiters.started.insert(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// Forgets the waiter at `key`, if it is still registered.
    pub(crate) fn unregister(&self, key: &mut Option<usize>) {
        let Some(k) = key.take() else { return };
        let mut waiters = self.waiters.lock();
        // Not there if `begin` took the list: the slab was replaced by an empty one.
        if !self.started.load(Ordering::Relaxed) {
            drop(waiters.started.try_remove(k));
        }
    }

    /// Polls "is no task left?", where `is_empty` looks at the task registry.
    pub(crate) fn poll_drained(
        &self,
        cx: &mut Context<'_>,
        is_empty: impl FnOnce() -> bool,
    ) -> Poll<()> {
        self.waiters.lock().drained = Some(cx.waker().clone());
        if is_empty() {
            drop(self.waiters.lock().drained.take());
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// A task left the registry during a shutdown and saw it empty: wake the shutdown.
    pub(crate) fn notify_drained(&self) {
        let waker = self.waiters.lock().drained.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// After a task left the registry: wakes the shutdown if one has begun and no task is
    /// left. Costs one `Acquire` load while no shutdown has begun.
    pub(crate) fn task_released(&self, is_empty: impl FnOnce() -> bool) {
        if self.is_started() && is_empty() {
            self.notify_drained();
        }
    }
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("started", &self.is_started())
            .finish_non_exhaustive()
    }
}
