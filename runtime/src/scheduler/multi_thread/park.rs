//! How an idle worker sleeps: in the I/O + timer driver if no other worker is in it,
//! otherwise on its own condition variable.
//!
//! # Protocol
//!
//! `state` is one of `EMPTY`, `PARKED_CONDVAR`, `PARKED_DRIVER`, `NOTIFIED`.
//!
//! - [`Parker::park`] consumes a pending `NOTIFIED` and returns at once. Otherwise it moves
//!   `EMPTY` to `PARKED_*` with a CAS (which fails only if an unpark came in between; then
//!   it consumes it and returns) and sleeps; on waking it swaps back to `EMPTY`.
//! - [`Unparker::unpark`] swaps in `NOTIFIED` and acts on what it replaced: nothing for
//!   `EMPTY` or `NOTIFIED` (the parker will see the token), a condvar notification taken
//!   under the parker's mutex for `PARKED_CONDVAR` (so it cannot slip between the parker's
//!   CAS and its wait), or a write to the reactor's waker for `PARKED_DRIVER`.
//!
//! Exactly one worker at a time owns the driver: whoever gets its `try_lock` first. The
//! driver reaches the reactor through a `Weak`, so a parker that outlives its runtime
//! keeps no descriptor open.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::{Condvar, Mutex};

use crate::driver::Driver;
use crate::reactor;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// What a parked worker blocks in: the runtime's driver (a stand-in in the loom models).
pub(super) trait Drive: Send + 'static {
    /// Blocks until an event, a due timer, an unpark or `timeout`. A paused clock may
    /// auto-advance only if `scheduler_idle` says every worker is idle when asked.
    fn park(&mut self, timeout: Option<Duration>, scheduler_idle: &dyn Fn() -> bool);
    /// Fails every registration and timer, for good.
    fn shutdown(&mut self);
}

/// Interrupts a [`Drive::park`] from another thread (the reactor's waker).
pub(super) trait Interrupt: Send + Sync + 'static {
    fn interrupt(&self);
}

impl Drive for Driver {
    fn park(&mut self, timeout: Option<Duration>, scheduler_idle: &dyn Fn() -> bool) {
        Driver::park_when_idle(self, timeout, scheduler_idle);
    }

    fn shutdown(&mut self) {
        Driver::shutdown(self);
    }
}

impl Interrupt for reactor::ReactorHandle {
    fn interrupt(&self) {
        self.unpark();
    }
}

/// The driver, shared by every worker of one runtime; one parks in it at a time.
#[derive(Debug)]
pub(super) struct SharedDriver<D = Driver, R = reactor::ReactorHandle> {
    /// `None` once the runtime has shut the driver down.
    driver: Mutex<Option<D>>,
    reactor: Weak<R>,
}

impl<D: Drive, R: Interrupt> SharedDriver<D, R> {
    pub(super) fn new(driver: D, reactor: &Arc<R>) -> SharedDriver<D, R> {
        SharedDriver {
            driver: Mutex::new(Some(driver)),
            reactor: Arc::downgrade(reactor),
        }
    }

    /// Runs the driver once without blocking, if no other worker is parked in it.
    pub(super) fn poll_if_free(&self) {
        if let Some(mut slot) = self.driver.try_lock() {
            if let Some(driver) = slot.as_mut() {
                driver.park(Some(Duration::ZERO), &|| false);
            }
        }
    }

    /// Fails every I/O registration and timer, and closes the driver for good (the last
    /// worker to stop calls it; nobody is parked in it then).
    pub(super) fn shutdown(&self) {
        let driver = self.driver.lock().take();
        if let Some(mut driver) = driver {
            driver.shutdown();
        }
    }

    fn unpark(&self) {
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.interrupt();
        }
    }
}

/// A worker's sleeping side.
#[derive(Debug)]
pub(super) struct Parker<D = Driver, R = reactor::ReactorHandle> {
    inner: Arc<Inner<D, R>>,
}

/// Wakes one worker; any thread may hold it.
#[derive(Debug)]
pub(super) struct Unparker<D = Driver, R = reactor::ReactorHandle> {
    inner: Arc<Inner<D, R>>,
}

#[derive(Debug)]
struct Inner<D, R> {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    driver: Arc<SharedDriver<D, R>>,
}

impl<D: Drive, R: Interrupt> Parker<D, R> {
    pub(super) fn new(driver: Arc<SharedDriver<D, R>>) -> Parker<D, R> {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                driver,
            }),
        }
    }

    pub(super) fn unparker(&self) -> Unparker<D, R> {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Sleeps until unparked (spurious returns are allowed). Drives I/O and timers while
    /// it sleeps if no other worker does; `scheduler_idle` is the driver's auto-advance
    /// question for a paused clock.
    pub(super) fn park(&mut self, scheduler_idle: &dyn Fn() -> bool) {
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        match inner.driver.driver.try_lock() {
            Some(mut slot) => match slot.as_mut() {
                Some(driver) => inner.park_driver(driver, scheduler_idle),
                None => inner.park_condvar(),
            },
            None => inner.park_condvar(),
        }
    }
}

impl<D: Drive, R: Interrupt> Inner<D, R> {
    fn park_driver(&self, driver: &mut D, scheduler_idle: &dyn Fn() -> bool) {
        if let Err(actual) = self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            debug_assert_eq!(actual, NOTIFIED, "only the owner parks");
            self.state.swap(EMPTY, SeqCst);
            return;
        }
        driver.park(None, scheduler_idle);
        self.state.swap(EMPTY, SeqCst);
    }

    fn park_condvar(&self) {
        let mut guard = self.mutex.lock();
        if let Err(actual) = self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            debug_assert_eq!(actual, NOTIFIED, "only the owner parks");
            self.state.swap(EMPTY, SeqCst);
            return;
        }
        loop {
            self.condvar.wait(&mut guard);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wakeup: still PARKED_CONDVAR; wait again.
        }
    }
}

impl<D, R> Clone for Unparker<D, R> {
    fn clone(&self) -> Self {
        Unparker {
            inner: self.inner.clone(),
        }
    }
}

impl<D: Drive, R: Interrupt> Unparker<D, R> {
    /// Wakes the worker, or makes its next `park` return at once.
    pub(super) fn unpark(&self) {
        let inner = &*self.inner;
        match inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the mutex orders us after the parker's CAS and before its wait.
                drop(inner.mutex.lock());
                inner.condvar.notify_one();
            }
            PARKED_DRIVER => inner.driver.unpark(),
            other => unreachable!("invalid park state {other}"),
        }
    }
}
