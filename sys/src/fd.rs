//! Descriptor plumbing shared by every module: `cvt` turns a libc return value into an
//! `io::Result`, and the close-on-exec / non-blocking flag helpers for the platforms (or
//! fallback paths) where a descriptor cannot be born with them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Return values of libc calls that signal failure with `-1`.
pub(crate) trait IsMinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

macro_rules! impl_is_minus_one {
    ($($t:ty)*) => {$(
        impl IsMinusOne for $t {
            fn is_minus_one(self) -> bool {
                self == -1
            }
        }
    )*};
}

impl_is_minus_one! { i32 i64 isize }

/// Converts a libc return value to `Err(last_os_error)` when it is `-1`.
pub(crate) fn cvt<T: IsMinusOne>(t: T) -> io::Result<T> {
    if t.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(t)
    }
}

/// Takes ownership of a descriptor a syscall just returned.
///
/// Call it on the line of the syscall, so no fallible step sits between the return and
/// the owner that closes it.
pub(crate) fn owned(fd: RawFd) -> OwnedFd {
    debug_assert!(fd >= 0, "owned() takes a descriptor, not an error code");
    // SAFETY: `fd` was just returned by a successful syscall that created it, and nothing
    // else holds it; ownership passes to the OwnedFd, which closes it exactly once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Sets FD_CLOEXEC on a descriptor that could not be born with it.
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the duration of the call.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })?;
    if flags & libc::FD_CLOEXEC == 0 {
        // SAFETY: as above; F_SETFD only changes descriptor flags.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
    }
    Ok(())
}

/// Sets or clears O_NONBLOCK.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the duration of the call.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let new = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: as above; F_SETFL only changes file status flags.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Whether FD_CLOEXEC is set on `fd` (for tests and assertions in dependent crates).
///
/// # Errors
///
/// The `fcntl` error, e.g. `EBADF` if `fd` is not open.
pub fn is_cloexec(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: `fd` is a live descriptor borrowed for the duration of the call.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })?;
    Ok(flags & libc::FD_CLOEXEC != 0)
}

/// Whether O_NONBLOCK is set on `fd` (for tests and assertions in dependent crates).
///
/// # Errors
///
/// The `fcntl` error, e.g. `EBADF` if `fd` is not open.
pub fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: `fd` is a live descriptor borrowed for the duration of the call.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    Ok(flags & libc::O_NONBLOCK != 0)
}
