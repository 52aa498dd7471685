//! Asynchronous I/O on any file descriptor.
//!
//! [`AsyncFd`] registers a descriptor with the runtime's reactor; it is the only door the
//! `net` crate (or any third-party crate) uses into the reactor.

mod async_fd;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, TryIoError};
pub use sys::Interest;
pub use sys::Readiness as Ready;
