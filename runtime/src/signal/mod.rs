//! Signals: [`ctrl_c`] and, in [`unix`], any signal by kind.
//!
//! The first listener of a signal installs one process-wide handler for it (never
//! removed). The handler marks the signal pending and writes a byte to a close-on-exec
//! self-pipe; each [`unix::Signal`] reads the pipe through its own
//! [`AsyncFd`](crate::io::AsyncFd), and whoever drains it wakes every listener of the
//! signals it found pending, in every runtime of the process (the protocol is in
//! `registry.rs`). Deliveries that arrive faster than a listener polls coalesce into one
//! wakeup, never zero.
//!
//! ```no_run
//! # runtime::Runtime::new()?.block_on(async {
//! runtime::signal::ctrl_c().await?;
//! println!("Ctrl-C: shutting down");
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;

mod registry; // generations and waker lists per signal, shared by all runtimes
pub mod unix; // SignalKind, signal(), Signal

/// Completes at the next SIGINT (Ctrl-C at the terminal) after the first poll.
///
/// From then on SIGINT no longer terminates the process (see [`unix::signal`]).
///
/// # Errors
///
/// An error outside a runtime, when a descriptor cannot be had, or if the runtime shuts
/// down first.
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupts = unix::signal(unix::SignalKind::interrupt())?;
    match interrupts.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other("the runtime shut down before Ctrl-C")),
    }
}
