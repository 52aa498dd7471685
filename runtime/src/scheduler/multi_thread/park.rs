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

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::driver::Driver;
use crate::reactor;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The driver, shared by every worker of one runtime; one parks in it at a time.
#[derive(Debug)]
pub(super) struct SharedDriver {
    /// `None` once the runtime has shut the driver down.
    driver: Mutex<Option<Driver>>,
    reactor: Weak<reactor::Handle>,
}

impl SharedDriver {
    pub(super) fn new(driver: Driver, reactor: &Arc<reactor::Handle>) -> SharedDriver {
        SharedDriver {
            driver: Mutex::new(Some(driver)),
            reactor: Arc::downgrade(reactor),
        }
    }

    /// Runs the driver once without blocking, if no other worker is parked in it.
    pub(super) fn poll_if_free(&self) {
        if let Some(mut slot) = self.driver.try_lock() {
            if let Some(driver) = slot.as_mut() {
                driver.park(Some(Duration::ZERO));
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
            reactor.unpark();
        }
    }
}

/// A worker's sleeping side.
#[derive(Debug)]
pub(super) struct Parker {
    inner: Arc<Inner>,
}

/// Wakes one worker; any thread may hold it.
#[derive(Clone, Debug)]
pub(super) struct Unparker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    driver: Arc<SharedDriver>,
}

impl Parker {
    pub(super) fn new(driver: Arc<SharedDriver>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                driver,
            }),
        }
    }

    pub(super) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Sleeps until unparked (spurious returns are allowed). Drives I/O and timers while
    /// it sleeps if no other worker does.
    pub(super) fn park(&mut self) {
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
                Some(driver) => inner.park_driver(driver),
                None => inner.park_condvar(),
            },
            None => inner.park_condvar(),
        }
    }
}

impl Inner {
    fn park_driver(&self, driver: &mut Driver) {
        if let Err(actual) = self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            debug_assert_eq!(actual, NOTIFIED, "only the owner parks");
            self.state.swap(EMPTY, SeqCst);
            return;
        }
        driver.park(None);
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

impl Unparker {
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
