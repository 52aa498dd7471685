//! The kqueue backend (Apple, FreeBSD, NetBSD, OpenBSD, DragonFly).
//!
//! - Birth: `kqueue()` then `FD_CLOEXEC` right away (the descriptor is also never inherited
//!   across `fork`, by kqueue's own rule).
//! - Registration: one `EVFILT_READ` and one `EVFILT_WRITE` filter per descriptor, both
//!   `EV_CLEAR` (edge-triggered). Changes are submitted with `EV_RECEIPT`, so each change
//!   reports its own error in place and no pending event is consumed by a change call.
//! - kqueue's `EV_ADD` silently updates an existing filter; to report `AlreadyExists` like
//!   epoll, `register` first probes with `EV_ENABLE` (which fails with `ENOENT` on a filter
//!   that does not exist). One extra syscall at registration only, never per read or write.
//! - Waiting takes a timespec natively.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{Event, Interest, Readiness, Token, wait_deadline};
use crate::fd::{cvt, owned, set_cloexec};

// NetBSD declares the kevent fields with other integer types.
#[cfg(target_os = "netbsd")]
pub(crate) type Filter = u32;
#[cfg(not(target_os = "netbsd"))]
pub(crate) type Filter = i16;
#[cfg(target_os = "netbsd")]
pub(crate) type Flags = u32;
#[cfg(not(target_os = "netbsd"))]
pub(crate) type Flags = u16;

/// The longest single kevent sleep: some kernels reject huge timespecs with `EINVAL`.
const MAX_WAIT_CHUNK: Duration = Duration::from_secs(24 * 60 * 60);

/// A kqueue instance.
#[derive(Debug)]
pub struct Poller {
    kq: OwnedFd,
}

impl Poller {
    /// Creates a poller whose descriptor is close-on-exec.
    ///
    /// # Errors
    ///
    /// The OS error from `kqueue` or `fcntl`, e.g. `EMFILE`.
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall; a returned descriptor is owned on this line.
        let kq = owned(cvt(unsafe { libc::kqueue() })?);
        set_cloexec(kq.as_fd())?;
        Ok(Poller { kq })
    }

    /// Wraps a descriptor that already is a close-on-exec kqueue (the waker's duplicate).
    pub(crate) fn from_owned(kq: OwnedFd) -> Poller {
        Poller { kq }
    }

    /// Registers `fd`, edge-triggered, for the directions in `interest`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is registered already; other OS errors unchanged.
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        if self.registered_filters(fd)? != 0 {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        self.add(fd, token, interest)
    }

    /// Changes the token or interest of a registered `fd`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered.
    pub fn modify(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        if self.registered_filters(fd)? == 0 {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        self.add(fd, token, interest)?;
        let mut unwanted = Vec::with_capacity(2);
        if !interest.is_readable() {
            unwanted.push(change(fd, libc::EVFILT_READ, libc::EV_DELETE, token));
        }
        if !interest.is_writable() {
            unwanted.push(change(fd, libc::EVFILT_WRITE, libc::EV_DELETE, token));
        }
        self.submit(&mut unwanted)?;
        // ENOENT: that direction was not registered, which is the state we want.
        first_error(&unwanted, &[libc::ENOENT])
    }

    /// Removes `fd` from the poller. Call it before closing `fd`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered.
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut changes = [
            change(fd, libc::EVFILT_READ, libc::EV_DELETE, Token(0)),
            change(fd, libc::EVFILT_WRITE, libc::EV_DELETE, Token(0)),
        ];
        self.submit(&mut changes)?;
        if changes
            .iter()
            .all(|c| receipt_errno(c) == Some(libc::ENOENT))
        {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        // ENOENT on one filter: fd was registered for one direction only.
        first_error(&changes, &[libc::ENOENT])
    }

    /// Adds (or updates) the filters for `interest`, rolling back on a partial failure.
    fn add(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let flags = libc::EV_ADD | libc::EV_CLEAR;
        let mut changes = Vec::with_capacity(2);
        if interest.is_readable() {
            changes.push(change(fd, libc::EVFILT_READ, flags, token));
        }
        if interest.is_writable() {
            changes.push(change(fd, libc::EVFILT_WRITE, flags, token));
        }
        self.submit(&mut changes)?;
        // EPIPE: macOS refuses EVFILT_WRITE on a pipe whose reader is gone, but the filter
        // works as a hang-up notification anyway (https://github.com/tokio-rs/mio/issues/582).
        let result = first_error(&changes, &[libc::EPIPE]);
        if result.is_err() {
            // Clean our own state first, then report the OS error.
            let _ = self.deregister(fd);
        }
        result
    }

    /// How many of `fd`'s two filters exist (0, 1 or 2), without changing them.
    fn registered_filters(&self, fd: RawFd) -> io::Result<usize> {
        let mut probes = [
            change(fd, libc::EVFILT_READ, libc::EV_ENABLE, Token(0)),
            change(fd, libc::EVFILT_WRITE, libc::EV_ENABLE, Token(0)),
        ];
        self.submit(&mut probes)?;
        first_error(&probes, &[libc::ENOENT])?;
        Ok(probes.iter().filter(|c| receipt_errno(c).is_none()).count())
    }

    /// Applies `changes` with `EV_RECEIPT`; each entry comes back holding its own result.
    pub(crate) fn submit(&self, changes: &mut [libc::kevent]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        for c in changes.iter_mut() {
            c.flags |= libc::EV_RECEIPT as Flags;
        }
        let n = changes.len() as libc::c_int;
        let ptr = changes.as_mut_ptr();
        // SAFETY: `ptr` points at `n` initialised kevents, used as both the change list and
        // the receipt list (the kernel reads all changes before writing receipts).
        cvt(unsafe { libc::kevent(self.kq.as_raw_fd(), ptr, n, ptr, n, std::ptr::null()) })?;
        Ok(())
    }

    /// Waits for events and fills `events` with them, returning how many there are.
    ///
    /// - `Some(Duration::ZERO)` never blocks.
    /// - `Some(t)` blocks until an event arrives or `t` has passed, never returning earlier
    ///   with no events; kqueue takes a timespec, so precision is the kernel's.
    /// - A timeout too long to represent (up to `Duration::MAX`) is the same as `None`.
    /// - `None` blocks until an event arrives (a [`Waker`](crate::Waker) is one).
    /// - `EINTR` is retried with the remaining time only; `wait` never returns `Interrupted`.
    ///
    /// # Errors
    ///
    /// OS errors other than `EINTR`, unchanged.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.len = 0;
        let n = wait_deadline(timeout, |rest| self.wait_once(events, rest))?;
        events.len = n;
        Ok(n)
    }

    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ts = timeout.map(|t| {
            let t = t.min(MAX_WAIT_CHUNK);
            libc::timespec {
                tv_sec: t.as_secs() as libc::time_t,
                tv_nsec: t.subsec_nanos() as _,
            }
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |ts| ts as *const _);
        // SAFETY: the buffer holds `buf.len()` kevents for the kernel to fill; `ts_ptr` is
        // null or points at a live timespec.
        let n = cvt(unsafe {
            libc::kevent(
                self.kq.as_raw_fd(),
                std::ptr::null(),
                0,
                events.buf.as_mut_ptr(),
                events.buf.len() as libc::c_int,
                ts_ptr,
            )
        })?;
        Ok(n as usize)
    }
}

impl AsRawFd for Poller {
    fn as_raw_fd(&self) -> RawFd {
        self.kq.as_raw_fd()
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}

/// A kevent change for `fd`'s `filter`, carrying `token` as user data.
pub(crate) fn change(fd: RawFd, filter: Filter, flags: Flags, token: Token) -> libc::kevent {
    // SAFETY: kevent is plain old data; all-zero is a valid value (null udata).
    let mut kev: libc::kevent = unsafe { std::mem::zeroed() };
    kev.ident = fd as libc::uintptr_t;
    kev.filter = filter;
    kev.flags = flags;
    kev.udata = token.0 as _;
    kev
}

/// The errno a receipt carries, or `None` for success.
fn receipt_errno(kev: &libc::kevent) -> Option<i32> {
    let failed = kev.flags & libc::EV_ERROR as Flags != 0 && kev.data != 0;
    failed.then_some(kev.data as i32)
}

/// The first receipt error not in `ignored`.
pub(crate) fn first_error(receipts: &[libc::kevent], ignored: &[i32]) -> io::Result<()> {
    match receipts
        .iter()
        .filter_map(receipt_errno)
        .find(|e| !ignored.contains(e))
    {
        Some(errno) => Err(io::Error::from_raw_os_error(errno)),
        None => Ok(()),
    }
}

/// A reusable buffer of events for [`Poller::wait`].
pub struct Events {
    buf: Box<[libc::kevent]>,
    len: usize,
}

// SAFETY: the only pointer in a kevent is `udata`, which holds our token as an integer and
// is never dereferenced, so moving or sharing the buffer across threads is sound.
unsafe impl Send for Events {}
// SAFETY: as above; `&Events` only reads plain data.
unsafe impl Sync for Events {}

impl Events {
    /// A buffer that receives at most `capacity` events per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.clamp(1, libc::c_int::MAX as usize);
        let empty = change(0, 0, 0, Token(0));
        Events {
            buf: vec![empty; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events the last wait reported.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|kev| Event {
            token: Token(kev.udata as usize),
            readiness: readiness(kev),
        })
    }

    /// How many events the last wait reported.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last wait reported no events.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most events one wait can report.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Appends an event the kernel did not report (the instrumented poller's spurious
    /// readiness, as a read event); `false` if the buffer is full.
    #[cfg(sys_test_seams)]
    pub(crate) fn push_spurious(&mut self, token: Token, _readiness: Readiness) -> bool {
        if self.len == self.buf.len() {
            return false;
        }
        self.buf[self.len] = change(0, libc::EVFILT_READ, 0, token);
        self.len += 1;
        true
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn readiness(kev: &libc::kevent) -> Readiness {
    let eof = kev.flags & libc::EV_EOF as Flags != 0;
    let mut r = Readiness::EMPTY;
    if kev.filter == libc::EVFILT_READ || kev.filter == libc::EVFILT_USER {
        r |= Readiness::READABLE;
        if eof {
            r |= Readiness::READ_CLOSED;
        }
    }
    if kev.filter == libc::EVFILT_WRITE {
        r |= Readiness::WRITABLE;
        if eof {
            r |= Readiness::WRITE_CLOSED;
        }
    }
    // With EV_EOF, a non-zero fflags carries the socket's pending error.
    if kev.flags & libc::EV_ERROR as Flags != 0 || (eof && kev.fflags != 0) {
        r |= Readiness::ERROR;
    }
    r
}
