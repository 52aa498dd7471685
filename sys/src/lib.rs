//! The OS layer: readiness pollers, the poller waker, sockets and their options, signal
//! handlers.
//!
//! Every libc call of the library crates lives here, and every one is visible where it is
//! made. What leaves this crate is safe and owned: a descriptor becomes an `OwnedFd` (or a
//! type holding one) on the line where the syscall returns it, and every descriptor is
//! close-on-exec (and, for sockets, non-blocking) from birth.
//!
//! This crate is not an event loop: it has no tasks, no timers and no wakers of futures.
//! The `runtime` crate builds those on [`Poller`] and [`Waker`].
//!
//! ```
//! use std::time::Duration;
//! use sys::{Events, Interest, Poller, Token};
//!
//! let poller = Poller::new()?;
//! let (a, b) = sys::Socket::pair(sys::Type::Stream)?;
//! poller.register(std::os::fd::AsRawFd::as_raw_fd(&a), Token(1), Interest::BOTH)?;
//! b.send(b"ping")?;
//! let mut events = Events::with_capacity(16);
//! poller.wait(&mut events, Some(Duration::from_secs(1)))?;
//! assert!(events.iter().any(|e| e.token == Token(1) && e.readiness.is_readable()));
//! # Ok::<(), std::io::Error>(())
//! ```

mod fd; // cvt, owning fresh descriptors, CLOEXEC/NONBLOCK flags

// Readiness: the poller and what wakes it.
pub mod poller; // epoll / kqueue behind one API
mod timer_slack; // the thread timer slack Linux adds to every timeout
pub mod waker; // eventfd / EVFILT_USER / pipe: wakes a blocked poller

// Signals.
pub mod signal; // process-wide handlers feeding one close-on-exec self-pipe

// Sockets.
pub mod addr; // sockaddr encoding for IPv4, IPv6, Unix paths
pub mod socket; // socket creation, accept, connect, send, receive
pub mod sockopt; // typed options and the reuse table by role

pub use addr::{SockAddr, UnixAddr};
pub use fd::{is_cloexec, is_nonblocking};
pub use poller::{Event, Events, Interest, Poller, Readiness, Token};
pub use socket::{Domain, Socket, Type};
pub use sockopt::{PeerCred, Role};
pub use timer_slack::{TimerSlackGuard, set_thread_timer_slack};
pub use waker::Waker;
