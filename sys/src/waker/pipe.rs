//! The pipe waker (NetBSD, OpenBSD, whose older releases lack `EVFILT_USER`): one byte per
//! wake into a non-blocking close-on-exec pipe. A full pipe means a wake is pending, so
//! `EAGAIN` is success; the read end is drained by `reset`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::fd::{cvt, owned};
use crate::{Interest, Poller, Token};

/// Wakes a poller from any thread.
#[derive(Debug)]
pub struct Waker {
    read: OwnedFd,
    write: OwnedFd,
}

impl Waker {
    /// Creates a close-on-exec waker registered with `poller` under `token`.
    ///
    /// # Errors
    ///
    /// The OS error from `pipe2` or from registering it.
    pub fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
        let mut fds = [-1; 2];
        // SAFETY: `fds` is valid for two descriptors; both are owned right below.
        cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
        let (read, write) = (owned(fds[0]), owned(fds[1]));
        poller.register(read.as_raw_fd(), token, Interest::READABLE)?;
        Ok(Waker { read, write })
    }

    /// Makes the poller report this waker's token.
    ///
    /// # Errors
    ///
    /// OS errors other than a full pipe (which means a wake is already pending).
    pub fn wake(&self) -> io::Result<()> {
        // SAFETY: one byte from a live static buffer.
        match cvt(unsafe { libc::write(self.write.as_raw_fd(), b"\x01".as_ptr().cast(), 1) }) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            result => result.map(drop),
        }
    }

    /// Drains the pipe so the next wake is a new edge.
    pub fn reset(&self) {
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break; // EAGAIN: drained (other errors cannot leave bytes behind either).
            }
        }
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}
