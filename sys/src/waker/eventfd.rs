//! The eventfd waker (Linux, Android): a counter the poller sees as readable.
//!
//! Registered edge-triggered, every write is a new edge, so the counter never needs
//! draining; only when it would overflow does `wake` read it back to zero first.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::fd::{cvt, owned};
use crate::{Interest, Poller, Token};

/// Wakes a poller from any thread.
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// Creates a close-on-exec waker registered with `poller` under `token`.
    ///
    /// # Errors
    ///
    /// The OS error from `eventfd` or from registering it.
    pub fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
        let flags = libc::EFD_CLOEXEC | libc::EFD_NONBLOCK;
        // SAFETY: plain syscall; a returned descriptor is owned on this line.
        let fd = owned(cvt(unsafe { libc::eventfd(0, flags) })?);
        poller.register(fd.as_raw_fd(), token, Interest::READABLE)?;
        Ok(Waker { fd })
    }

    /// Makes the poller report this waker's token.
    ///
    /// # Errors
    ///
    /// OS errors other than a full counter (which means a wake is already pending).
    pub fn wake(&self) -> io::Result<()> {
        match self.add(1) {
            // The counter is at its maximum: empty it and wake again.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.drain();
                self.add(1)
            }
            result => result,
        }
    }

    /// Acknowledges a reported wake. The edge-triggered counter needs no draining.
    pub fn reset(&self) {}

    fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: `buf` is valid for 8 bytes of writes. EAGAIN (already zero) is the goal,
        // so the result is ignored.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
    }

    fn add(&self, n: u64) -> io::Result<()> {
        let buf = n.to_ne_bytes();
        // SAFETY: `buf` is valid for 8 bytes of reads.
        cvt(unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), 8) })?;
        Ok(())
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
