//! The `EVFILT_USER` waker (Apple, FreeBSD, DragonFly): a user event on the poller's own
//! kqueue, triggered with `NOTE_TRIGGER`. `EV_CLEAR` resets it when it is reported.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::Token;
use crate::fd::{cvt, owned};
// The backend's own poller (not the test seam's wrapper): the waker submits changes to
// its kqueue directly.
use crate::poller::imp::{Poller, change, first_error};

/// Wakes a poller from any thread.
#[derive(Debug)]
pub struct Waker {
    /// A close-on-exec duplicate of the poller's kqueue, so the waker stands on its own.
    kq: Poller,
    token: Token,
}

impl Waker {
    /// Creates a waker that makes `poller` report `token`.
    ///
    /// # Errors
    ///
    /// The OS error from duplicating the kqueue or adding the user event.
    pub fn new(poller: &crate::Poller, token: Token) -> io::Result<Waker> {
        let kq = Poller::from_owned(dup_cloexec(poller.as_fd())?);
        let flags = libc::EV_ADD | libc::EV_CLEAR;
        let mut add = [change(token.0 as RawFd, libc::EVFILT_USER, flags, token)];
        kq.submit(&mut add)?;
        first_error(&add, &[])?;
        Ok(Waker { kq, token })
    }

    /// Makes the poller report this waker's token.
    ///
    /// # Errors
    ///
    /// OS errors from `kevent`.
    pub fn wake(&self) -> io::Result<()> {
        let mut trigger = [change(
            self.token.0 as RawFd,
            libc::EVFILT_USER,
            0,
            self.token,
        )];
        trigger[0].fflags = libc::NOTE_TRIGGER;
        self.kq.submit(&mut trigger)?;
        first_error(&trigger, &[])
    }

    /// Acknowledges a reported wake. `EV_CLEAR` already reset the event.
    pub fn reset(&self) {}
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.kq.as_raw_fd()
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}

/// Duplicates `fd` into a new close-on-exec descriptor (`F_DUPFD_CLOEXEC`, atomic).
fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: `fd` is live; F_DUPFD_CLOEXEC returns a new descriptor, owned on this line.
    Ok(owned(cvt(unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0)
    })?))
}
