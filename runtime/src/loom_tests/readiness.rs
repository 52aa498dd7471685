//! Readiness (`reactor/scheduled_io.rs`): the driver setting readiness races a consumer
//! that clears it after `WouldBlock`, and waiters registering race the driver's wake.
//!
//! A consumer here waits with loom's `block_on`: if an edge or a wakeup were lost, it
//! would wait forever and loom would report the deadlock.

use std::future::poll_fn;

use loom::future::block_on;
use sys::Readiness;

use crate::loom::model;
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::reactor::{Direction, ScheduledIo};

/// A socket with something to read or not, and its registration. The kernel's buffer is
/// a mutex: an atomic flag would meet loom's issue #389 (a `swap` racing a plain `store`
/// lets a later load read the older value), an execution no real machine has.
struct Socket {
    io: ScheduledIo,
    data: Mutex<bool>,
}

impl Socket {
    /// A registration whose last edge (tick 1) is stale: the data is already gone.
    fn with_stale_edge() -> Arc<Socket> {
        let socket = Socket {
            io: ScheduledIo::default(),
            data: Mutex::new(false),
        };
        socket.io.set_readiness(1, Readiness::READABLE);
        Arc::new(socket)
    }

    /// The kernel's side: data arrives, then the driver reports the edge at `tick`.
    fn arrive(&self, tick: u16) {
        *self.data.lock() = true;
        self.io.set_readiness(tick, Readiness::READABLE);
    }

    /// A read: `true` if there was data, else `WouldBlock`.
    fn try_read(&self) -> bool {
        std::mem::take(&mut *self.data.lock())
    }
}

/// The consumer is granted the stale edge, reads, gets `WouldBlock` and clears; the driver
/// meanwhile delivers a new edge. Whatever the order, the consumer reads the data:
/// a clear never erases an edge stamped after the readiness it was granted.
#[test]
fn loom_clear_after_would_block_never_loses_a_new_edge() {
    model(|| {
        let socket = Socket::with_stale_edge();
        let driver = {
            let socket = socket.clone();
            thread::spawn(move || socket.arrive(2))
        };
        loop {
            let event = block_on(socket.io.readiness(Direction::Read)).unwrap();
            if socket.try_read() {
                break;
            }
            socket.io.clear_after_would_block(event);
        }
        driver.join().unwrap();
    });
}

/// The same race through the poll-based API (`poll_read_ready`'s one waker slot).
#[test]
fn loom_poll_ready_never_loses_a_new_edge() {
    model(|| {
        let socket = Socket::with_stale_edge();
        let driver = {
            let socket = socket.clone();
            thread::spawn(move || socket.arrive(2))
        };
        loop {
            let ready = poll_fn(|cx| socket.io.poll_ready(cx, Direction::Read));
            let event = block_on(ready).unwrap();
            if socket.try_read() {
                break;
            }
            socket.io.clear_after_would_block(event);
        }
        driver.join().unwrap();
    });
}

/// Two tasks wait on one registration while the driver sets readiness: both wake, each
/// whether it registered before the driver's wake or after its readiness was set.
#[test]
fn loom_every_waiter_registered_concurrently_with_a_wake_is_woken() {
    model(|| {
        let io = Arc::new(ScheduledIo::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let io = io.clone();
                thread::spawn(move || block_on(io.readiness(Direction::Read)).unwrap().ready)
            })
            .collect();
        io.set_readiness(1, Readiness::READABLE);
        for waiter in waiters {
            assert!(waiter.join().unwrap().is_readable());
        }
    });
}

/// Reactor shutdown races a waiter: the wait fails rather than hanging.
#[test]
fn loom_shutdown_fails_a_concurrent_wait() {
    model(|| {
        let io = Arc::new(ScheduledIo::default());
        let waiter = {
            let io = io.clone();
            thread::spawn(move || block_on(io.readiness(Direction::Write)).is_err())
        };
        io.shutdown();
        assert!(waiter.join().unwrap());
    });
}
