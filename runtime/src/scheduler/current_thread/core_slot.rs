//! Handing the core between `block_on` callers, and shutting the scheduler down.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::run_loop::{install_local, uninstall_local, with_local_queue};
use super::{Core, CurrentThread};
use crate::scheduler::park_thread::poll_with_budget;

impl CurrentThread {
    /// Runs `future` to completion on this thread, running tasks and the driver meanwhile.
    ///
    /// While another thread holds the core (it is inside `block_on` too), the future is
    /// polled here without it, like tokio does: its timers and I/O are driven by the core's
    /// holder, whose wakes unpark this thread. When the core comes back, this thread takes
    /// it and goes on with the same future.
    ///
    /// # Panics
    ///
    /// On a thread other than a `LocalRuntime`'s own.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        if let Some(owner) = self.owner {
            assert!(
                owner == std::thread::current().id(),
                "block_on: this runtime is a `LocalRuntime`, bound to the thread that built it \
                 (its !Send tasks live there); spawn onto it through the Handle instead, or \
                 use a `Runtime`"
            );
        }
        let mut future = pin!(future);
        let mut waiting = Waiting {
            handle: self,
            parker: Arc::new(ThreadWaker {
                woken: AtomicBool::new(true),
                thread: std::thread::current(),
            }),
            registered: false,
        };
        let waker = Waker::from(waiting.parker.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Some(core) = self.try_take_core() {
                let mut guard = ReturnCore {
                    handle: self,
                    core: Some(core),
                };
                let core = guard.core.as_mut().expect("present until the guard drops");
                return self.shared.run(core, future.as_mut());
            }
            if waiting.parker.woken.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(output) = poll_with_budget(future.as_mut(), &mut cx) {
                    return output;
                }
            }
            self.wait_for_core_or_wake(&mut waiting);
        }
    }

    /// Takes the core if it is free.
    ///
    /// # Panics
    ///
    /// After shutdown: the core never comes back, so the future could never be driven.
    fn try_take_core(&self) -> Option<Box<Core>> {
        let mut slot = self.core.lock();
        let core = slot.core.take();
        assert!(
            core.is_some() || !self.shut_down.load(Ordering::Acquire),
            "block_on: this runtime has shut down (its `Runtime` was dropped), so a \
             `Handle` to it can no longer run futures; keep the `Runtime` alive"
        );
        core
    }

    /// Parks this thread until its future is woken or the core is returned.
    fn wait_for_core_or_wake(&self, waiting: &mut Waiting<'_>) {
        {
            let mut slot = self.core.lock();
            if slot.core.is_some() || self.shut_down.load(Ordering::Acquire) {
                return;
            }
            // Registered under the lock that `return_core` takes: no return is missed.
            // Once per call: an entry stays until `return_core` takes it or the call leaves.
            if !slot.waiters.iter().any(|w| Arc::ptr_eq(w, &waiting.parker)) {
                slot.waiters.push(waiting.parker.clone());
                waiting.registered = true;
            }
        }
        if !waiting.parker.woken.load(Ordering::Acquire) {
            std::thread::park(); // spurious returns just loop
        }
    }

    /// How many `block_on` calls wait for the core.
    #[cfg(test)]
    pub(super) fn waiter_count(&self) -> usize {
        self.core.lock().waiters.len()
    }

    fn return_core(&self, core: Box<Core>) {
        let waiters = {
            let mut slot = self.core.lock();
            if self.shutdown_requested.load(Ordering::Acquire) {
                // Dropped from inside (see `shutdown_deferred`): shut down now.
                self.shut_down.store(true, Ordering::Release);
                let waiters = std::mem::take(&mut slot.waiters);
                drop(slot);
                for waiter in waiters {
                    waiter.thread.unpark();
                }
                self.shutdown_core(*core);
                return;
            }
            slot.core = Some(core);
            std::mem::take(&mut slot.waiters)
        };
        // A waiting shutdown sleeps on the condvar; block_on callers are parked threads.
        self.core_returned.notify_all();
        for waiter in waiters {
            waiter.thread.unpark();
        }
    }

    /// Drops every task (each future exactly once), then fails I/O and timers. Called by
    /// `Runtime`'s drop, with the runtime's context entered, on a thread not running this
    /// runtime (see [`shutdown_deferred`](CurrentThread::shutdown_deferred) for that case).
    pub(crate) fn shutdown(&self) {
        let core = {
            let mut slot = self.core.lock();
            loop {
                if let Some(core) = slot.core.take() {
                    self.shut_down.store(true, Ordering::Release);
                    break core;
                }
                if self.shut_down.load(Ordering::Acquire) {
                    return; // already shut down
                }
                // Another thread is inside block_on (through a `Handle`): its tasks are
                // ours to drop, so wait for it to hand the core back.
                self.core_returned.wait(&mut slot);
            }
        };
        self.shutdown_core(*core);
    }

    /// Shuts down as soon as the core is free, without waiting for it: for a runtime
    /// dropped (or shut down in the background) from inside its own `block_on` or task,
    /// where the core is held up this thread's stack. The holder's `block_on` shuts down
    /// when it hands the core back; nothing keeps running as a zombie.
    pub(crate) fn shutdown_deferred(&self) {
        let core = {
            let mut slot = self.core.lock();
            self.shutdown_requested.store(true, Ordering::Release);
            let core = slot.core.take();
            if core.is_some() {
                self.shut_down.store(true, Ordering::Release);
            }
            core
        };
        if let Some(core) = core {
            self.shutdown_core(*core);
        }
    }

    fn shutdown_core(&self, mut core: Core) {
        // Nobody can be waiting for the core now: `return_core` unparked the block_on
        // callers that were, and new ones see `shut_down` under the lock.
        self.core_returned.notify_all();
        // Spawns and foreign wakes from here on are refused (and their task dropped).
        self.shared.inject.close();
        let previous = install_local(&self.shared, std::mem::take(&mut core.queue));
        self.shared.owned.close_and_shutdown_all();
        // Futures dropped above may have woken tasks; those are complete, so the queued
        // references are just released.
        loop {
            let local = with_local_queue(&self.shared, std::mem::take).unwrap_or_default();
            let injected = self.shared.inject.take_all();
            if local.is_empty() && injected.is_empty() {
                break;
            }
            drop(local);
            drop(injected);
        }
        drop(uninstall_local(previous));
        debug_assert!(self.shared.owned.is_empty(), "every task was shut down");
        core.driver.shutdown();
    }
}

/// Hands the core back when `block_on` returns or unwinds (a panicking future), so the
/// runtime stays usable and its drop can still shut the tasks down.
struct ReturnCore<'a> {
    handle: &'a CurrentThread,
    core: Option<Box<Core>>,
}

impl Drop for ReturnCore<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            self.handle.return_core(core);
        }
    }
}

/// One `block_on` call's place in the waiter list: it registers at most once, and its
/// entry leaves with it (returning with its output, or unwinding) if `return_core` has
/// not taken it already.
struct Waiting<'a> {
    handle: &'a CurrentThread,
    parker: Arc<ThreadWaker>,
    /// Whether this call ever pushed an entry; if not, leaving takes no lock.
    registered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let mut slot = self.handle.core.lock();
        if let Some(i) = slot
            .waiters
            .iter()
            .position(|w| Arc::ptr_eq(w, &self.parker))
        {
            slot.waiters.swap_remove(i);
        }
    }
}

/// The waker of a `block_on` future polled without the core: unparks its thread.
pub(super) struct ThreadWaker {
    woken: AtomicBool,
    thread: std::thread::Thread,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
