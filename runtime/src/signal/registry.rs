//! Who has seen which signal: a generation per signal and the wakers of its listeners,
//! shared by every runtime in the process.
//!
//! # Protocol
//!
//! - `sys::signal` marks a signal pending and writes a byte to the self-pipe (see its
//!   protocol). Every `Signal` holds its own dup of the pipe's read end in an `AsyncFd`,
//!   so every listener's reactor, in whichever runtime, sees the pipe become readable.
//! - Whichever listener's task gets readiness first drains the pipe, then calls
//!   [`dispatch`]: under `REGISTRY`'s lock it takes each registered signal's pending flag
//!   and, for each one taken, bumps that signal's `generation` and takes every stored
//!   waker, which it wakes after unlocking. The other listeners may then find the pipe
//!   already empty; they learn of the signal from the generation, not from the pipe.
//! - A listener remembers the last generation it returned for (`seen`, starting at the
//!   generation when it was created). [`Listener::poll_fired`] compares and, if nothing
//!   moved, stores its waker, both under the lock; `dispatch` bumps and takes under the
//!   same lock, so a bump is either seen by the comparison or wakes the stored waker.
//! - Several signals between two polls move the generation more than once and are
//!   reported once: bursts coalesce, never to zero.
//! - A listener's slot is removed on drop; a signal's entry (its generation) stays.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::io;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use slab::Slab;

/// Every signal any listener registered, by number.
static REGISTRY: Mutex<BTreeMap<c_int, Listeners>> = parking_lot::const_mutex(BTreeMap::new());

/// The listeners of one signal.
struct Listeners {
    /// How many times a drainer found this signal pending.
    generation: u64,
    /// One slot per live `Listener`; `Some` while its task waits.
    wakers: Slab<Option<Waker>>,
}

/// One listener's place in the registry.
#[derive(Debug)]
pub(super) struct Listener {
    signum: c_int,
    key: usize,
    seen: u64,
}

impl Listener {
    /// Installs the process-wide handler for `signum` (once) and adds a listener that
    /// fires for signals arriving from now on.
    pub(super) fn new(signum: c_int) -> io::Result<Listener> {
        sys::signal::register(signum)?;
        let mut registry = REGISTRY.lock();
        let listeners = registry.entry(signum).or_insert_with(|| Listeners {
            generation: 0,
            wakers: Slab::new(),
        });
        Ok(Listener {
            signum,
            key: listeners.wakers.insert(None),
            seen: listeners.generation,
        })
    }

    /// `Ready` if the signal was dispatched since the last `Ready`; otherwise stores the
    /// task's waker for the next dispatch.
    pub(super) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = REGISTRY.lock();
        let listeners = registry
            .get_mut(&self.signum)
            .expect("a listener's signal stays registered");
        if listeners.generation != self.seen {
            self.seen = listeners.generation;
            return Poll::Ready(());
        }
        let slot = &mut listeners.wakers[self.key];
        match slot {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Dropped outside the lock: a waker's destructor may run arbitrary code.
        let _waker = REGISTRY
            .lock()
            .get_mut(&self.signum)
            .and_then(|listeners| listeners.wakers.try_remove(self.key))
            .flatten();
    }
}

/// After the pipe was drained: turns each pending flag into a generation bump and wakes
/// that signal's listeners.
pub(super) fn dispatch() {
    let mut to_wake = Vec::new();
    {
        let mut registry = REGISTRY.lock();
        for (&signum, listeners) in registry.iter_mut() {
            if sys::signal::take_pending(signum) {
                listeners.generation += 1;
                to_wake.extend(listeners.wakers.iter_mut().filter_map(|(_, w)| w.take()));
            }
        }
    }
    to_wake.into_iter().for_each(crate::wake::wake_caught);
}
