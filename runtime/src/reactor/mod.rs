//! The reactor: turns poller readiness into task wakeups.
//!
//! - [`Driver`] is owned by whoever parks: it blocks in `Poller::wait` and dispatches.
//! - [`ReactorHandle`] is shared: it registers and deregisters descriptors and wakes the driver.
//!
//! Registrations live in a slab. A poller token carries the slot index *and* the slot's
//! generation, so an event still in flight for a closed descriptor can never wake the
//! registration that reuses the slot or the descriptor number (the fd-reuse ABA bug).
//! Each descriptor is registered once, edge-triggered, for both directions: after that a
//! read or write costs its own syscall and nothing else.

mod registration;
mod scheduled_io;
mod waiters;

pub(crate) use registration::Registration;
pub(crate) use scheduled_io::{Direction, ReadyEvent, ScheduledIo};

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use parking_lot::Mutex;
use slab::Slab;
use sys::{Events, Interest, Poller, Token};

/// Index bits of a token; the rest hold the generation.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The most registrations at once (the last index is the waker's).
const MAX_REGISTRATIONS: usize = INDEX_MASK;
/// The waker's token: an index no registration can have.
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Events taken per wait.
const EVENTS_CAPACITY: usize = 1024;

/// Shared side of the reactor.
#[derive(Debug)]
pub(crate) struct ReactorHandle {
    poller: Poller,
    waker: sys::Waker,
    registrations: Mutex<Registrations>,
    /// Events dispatched to registrations so far (for `RuntimeMetrics`); added to once
    /// per turn that dispatched any.
    events_dispatched: AtomicU64,
}

#[derive(Debug, Default)]
struct Registrations {
    slab: Slab<Slot>,
    /// Bumped for every registration; wraps.
    next_generation: usize,
    is_shutdown: bool,
}

#[derive(Debug)]
struct Slot {
    generation: usize,
    io: Arc<ScheduledIo>,
}

/// Owned side of the reactor: the event buffer and the tick.
#[derive(Debug)]
pub(crate) struct Driver {
    handle: Arc<ReactorHandle>,
    events: Events,
    tick: u16,
    /// Reused between turns so dispatching allocates nothing once warm.
    ready: Vec<(Arc<ScheduledIo>, sys::Readiness)>,
}

/// Packs a slot index and a generation into a poller token.
fn pack(index: usize, generation: usize) -> Token {
    debug_assert!(index < MAX_REGISTRATIONS);
    Token((generation << INDEX_BITS) | index)
}

/// Splits a token into (index, generation-bits).
fn unpack(token: Token) -> (usize, usize) {
    (token.0 & INDEX_MASK, token.0 >> INDEX_BITS)
}

/// The generation bits that survive packing.
fn truncate_generation(generation: usize) -> usize {
    generation & (usize::MAX >> INDEX_BITS)
}

impl Driver {
    /// Creates the poller and its waker.
    pub(crate) fn new() -> io::Result<(Driver, Arc<ReactorHandle>)> {
        let poller = Poller::new()?;
        let waker = sys::Waker::new(&poller, WAKER_TOKEN)?;
        let handle = Arc::new(ReactorHandle {
            poller,
            waker,
            registrations: Mutex::new(Registrations::default()),
            events_dispatched: AtomicU64::new(0),
        });
        let driver = Driver {
            handle: handle.clone(),
            events: Events::with_capacity(EVENTS_CAPACITY),
            tick: 0,
            ready: Vec::new(),
        };
        Ok((driver, handle))
    }

    /// Waits up to `timeout` for events (`None`: until one arrives) and wakes their tasks;
    /// returns how many events came: registrations that got readiness, plus one for an
    /// unpark (which the caller may have to act on: it has been consumed).
    ///
    /// # Errors
    ///
    /// The poller's error; the caller decides whether it is fatal.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.handle.poller.wait(&mut self.events, timeout)?;
        self.tick = self.tick.wrapping_add(1);
        let unparked = self.collect_ready();
        let events = self.ready.len() + usize::from(unparked);
        if !self.ready.is_empty() {
            let dispatched = self.ready.len() as u64;
            self.handle.events_dispatched.fetch_add(dispatched, Relaxed);
        }
        for (io, readiness) in self.ready.drain(..) {
            io.set_readiness(self.tick, readiness);
        }
        Ok(events)
    }

    /// Resolves tokens to registrations under one lock; wakes happen after it is released.
    /// Returns whether the reactor was unparked.
    fn collect_ready(&mut self) -> bool {
        let mut woken = false;
        {
            let registrations = self.handle.registrations.lock();
            for event in self.events.iter() {
                if event.token == WAKER_TOKEN {
                    woken = true;
                    continue;
                }
                let (index, generation) = unpack(event.token);
                match registrations.slab.get(index) {
                    Some(slot) if truncate_generation(slot.generation) == generation => {
                        self.ready.push((slot.io.clone(), event.readiness));
                    }
                    // A stale event for a registration that is gone (or whose slot was
                    // reused since): drop it.
                    _ => {}
                }
            }
        }
        if woken {
            // Outside the lock: the pipe waker drains with syscalls.
            self.handle.waker.reset();
        }
        woken
    }

    /// Fails every registration (waking their waiters) and refuses new ones.
    pub(crate) fn shutdown(&mut self) {
        let slots: Vec<Arc<ScheduledIo>> = {
            let mut registrations = self.handle.registrations.lock();
            registrations.is_shutdown = true;
            registrations.slab.drain().map(|slot| slot.io).collect()
        };
        for io in slots {
            io.shutdown();
        }
    }
}

impl ReactorHandle {
    /// Registers `fd` for both directions, edge-triggered.
    ///
    /// # Errors
    ///
    /// The poller's error, an error if the runtime has shut down, or one if there are
    /// already 2^24 - 1 registrations.
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<(Arc<ScheduledIo>, Token)> {
        let io = Arc::new(ScheduledIo::default());
        let token = {
            let mut registrations = self.registrations.lock();
            if registrations.is_shutdown {
                return Err(scheduled_io::gone());
            }
            let entry = registrations.slab.vacant_entry();
            if entry.key() >= MAX_REGISTRATIONS {
                return Err(io::Error::other("too many registrations with the reactor"));
            }
            let index = entry.key();
            let generation = registrations.next_generation;
            registrations.slab.insert(Slot {
                generation,
                io: io.clone(),
            });
            registrations.next_generation = generation.wrapping_add(1);
            pack(index, truncate_generation(generation))
        };
        if let Err(e) = self.poller.register(fd, token, Interest::BOTH) {
            self.release(token);
            return Err(e);
        }
        Ok((io, token))
    }

    /// Deregisters `fd`: our slot goes first, then the poller's entry.
    ///
    /// # Errors
    ///
    /// The poller's error (e.g. the descriptor was closed behind our back).
    pub(crate) fn deregister(&self, fd: RawFd, token: Token) -> io::Result<()> {
        self.release(token);
        self.poller.deregister(fd)
    }

    fn release(&self, token: Token) {
        let (index, generation) = unpack(token);
        let mut registrations = self.registrations.lock();
        let ours = registrations
            .slab
            .get(index)
            .is_some_and(|slot| truncate_generation(slot.generation) == generation);
        if ours {
            registrations.slab.remove(index);
        }
    }

    /// Events dispatched to registrations so far.
    pub(crate) fn events_dispatched(&self) -> u64 {
        self.events_dispatched.load(Relaxed)
    }

    /// Interrupts a blocked [`Driver::turn`].
    pub(crate) fn unpark(&self) {
        if let Err(e) = self.waker.wake() {
            // The eventfd/kqueue waker only fails if its descriptor is broken, which would
            // be a bug in this crate; there is no caller to report it to.
            debug_assert!(false, "failed to wake the reactor: {e}");
        }
    }

    /// How many descriptors are registered now.
    pub(crate) fn num_registrations(&self) -> usize {
        self.registrations.lock().slab.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_index_and_generation() {
        let token = pack(12345, truncate_generation(77));
        assert_eq!(unpack(token), (12345, 77));
    }

    #[test]
    fn generation_wraps_without_touching_the_index_or_the_waker_token() {
        let huge = usize::MAX; // a generation counter that has wrapped all the way round
        let token = pack(MAX_REGISTRATIONS - 1, truncate_generation(huge));
        assert_eq!(unpack(token).0, MAX_REGISTRATIONS - 1);
        assert_ne!(token, WAKER_TOKEN, "no registration may alias the waker");
        let next = truncate_generation(huge.wrapping_add(1));
        assert_eq!(next, 0);
        assert_ne!(pack(5, next), pack(5, truncate_generation(huge)));
    }

    #[test]
    fn stale_token_for_a_reused_slot_is_ignored() {
        let (mut driver, handle) = Driver::new().unwrap();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
        let (old_io, old_token) = handle.register(fd).unwrap();
        handle.deregister(fd, old_token).unwrap();
        let (new_io, new_token) = handle.register(fd).unwrap();
        assert_eq!(unpack(old_token).0, unpack(new_token).0, "slot reused");
        assert_ne!(old_token, new_token);
        // An event for the old token must not reach the new registration.
        driver.events = Events::with_capacity(1);
        driver.tick = 1;
        let registrations = handle.registrations.lock();
        let slot = registrations.slab.get(unpack(old_token).0).unwrap();
        assert_ne!(truncate_generation(slot.generation), unpack(old_token).1);
        drop(registrations);
        assert!(!Arc::ptr_eq(&old_io, &new_io));
        handle.deregister(fd, new_token).unwrap();
        assert_eq!(handle.num_registrations(), 0);
    }
}
