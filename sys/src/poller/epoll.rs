//! The epoll backend (Linux, Android).
//!
//! - Birth: `epoll_create1(EPOLL_CLOEXEC)`; on `ENOSYS` (kernels before 2.6.27, some
//!   seccomp sandboxes) `epoll_create` followed by `FD_CLOEXEC`. [`create_with`] is the seam
//!   a unit test drives, and `--cfg sys_force_epoll_create` sends the whole suite down the
//!   fallback.
//! - Registration: `EPOLLET | EPOLLRDHUP` plus `EPOLLIN`/`EPOLLOUT`, once per descriptor.
//! - Waiting: `epoll_pwait2` takes a timespec, so timeouts keep nanosecond precision. Where
//!   it is missing (`ENOSYS`: Linux < 5.11; `EPERM`: seccomp filters that predate it) the
//!   poller remembers that and uses `epoll_wait`, rounding sub-millisecond timeouts up.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Event, Interest, Readiness, Token, timeout_ms_round_up, wait_deadline};
use crate::fd::{cvt, owned, set_cloexec};

/// Whether this target can call `epoll_pwait2` through `syscall(2)`.
const HAS_PWAIT2_SYSCALL: bool = cfg!(target_os = "linux");

/// The longest single `epoll_pwait2` sleep; longer waits loop (see [`Poller::wait`]).
const MAX_WAIT_CHUNK: Duration = Duration::from_secs(24 * 60 * 60);

/// An epoll instance.
#[derive(Debug)]
pub struct Poller {
    epfd: OwnedFd,
    /// Cleared the first time `epoll_pwait2` is found missing.
    pwait2: AtomicBool,
}

impl Poller {
    /// Creates a poller whose descriptor is close-on-exec from birth.
    ///
    /// # Errors
    ///
    /// The OS error from `epoll_create1` (or, on its `ENOSYS`, from `epoll_create` or
    /// `fcntl`), e.g. `EMFILE` when the process is out of descriptors.
    pub fn new() -> io::Result<Poller> {
        create_with(default_epoll_create1)
    }

    /// Registers `fd`, edge-triggered, for the directions in `interest`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is registered already; other OS errors unchanged.
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, Some((token, interest)))
    }

    /// Changes the token or interest of a registered `fd`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered.
    pub fn modify(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, Some((token, interest)))
    }

    /// Removes `fd` from the poller. Call it before closing `fd`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered.
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, None)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, reg: Option<(Token, Interest)>) -> io::Result<()> {
        let mut event = match reg {
            Some((token, interest)) => libc::epoll_event {
                events: epoll_flags(interest),
                u64: token.0 as u64,
            },
            // EPOLL_CTL_DEL ignores the event, but kernels before 2.6.9 required non-null.
            None => libc::epoll_event { events: 0, u64: 0 },
        };
        // SAFETY: `epfd` is our live epoll descriptor and `event` is valid for the call.
        cvt(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Waits for events and fills `events` with them, returning how many there are.
    ///
    /// - `Some(Duration::ZERO)` never blocks.
    /// - `Some(t)` blocks until an event arrives or `t` has passed, never returning earlier
    ///   with no events. The precision is the kernel's (`epoll_pwait2`); with the
    ///   `epoll_wait` fallback a sub-millisecond rest rounds up to 1 ms, never down to 0.
    /// - A timeout too long to represent (up to `Duration::MAX`) is the same as `None`.
    /// - `None` blocks until an event arrives (a [`Waker`](crate::Waker) is one).
    /// - `EINTR` is retried with the remaining time only; `wait` never returns `Interrupted`.
    ///
    /// # Errors
    ///
    /// OS errors other than `EINTR` (e.g. `EBADF`, `EINVAL`), unchanged.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.len = 0;
        let n = wait_deadline(timeout, |rest| self.wait_once(events, rest))?;
        events.len = n;
        Ok(n)
    }

    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        if HAS_PWAIT2_SYSCALL && self.pwait2.load(Ordering::Relaxed) {
            match self.epoll_pwait2(events, timeout) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    self.pwait2.store(false, Ordering::Relaxed);
                }
                result => return result,
            }
        }
        self.epoll_wait(events, timeout)
    }

    #[cfg(target_os = "linux")]
    fn epoll_pwait2(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ts = timeout.map(|t| {
            let t = t.min(MAX_WAIT_CHUNK);
            libc::timespec {
                tv_sec: t.as_secs() as libc::time_t,
                tv_nsec: t.subsec_nanos() as libc::c_long,
            }
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |ts| ts as *const _);
        // SAFETY: the buffer holds `buf.len()` events, `ts_ptr` is null or points at a live
        // timespec, and a null sigmask means "leave the signal mask alone" (size ignored).
        let n = cvt(unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epfd.as_raw_fd(),
                events.buf.as_mut_ptr(),
                events.buf.len() as libc::c_int,
                ts_ptr,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        })?;
        Ok(n as usize)
    }

    #[cfg(not(target_os = "linux"))]
    fn epoll_pwait2(&self, _: &mut Events, _: Option<Duration>) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    fn epoll_wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ms = timeout.map_or(-1, timeout_ms_round_up);
        // SAFETY: the buffer holds `buf.len()` events for the kernel to fill.
        let n = cvt(unsafe {
            libc::epoll_wait(
                self.epfd.as_raw_fd(),
                events.buf.as_mut_ptr(),
                events.buf.len() as libc::c_int,
                ms,
            )
        })?;
        Ok(n as usize)
    }

    /// Forgets `epoll_pwait2`, as if the kernel lacked it (tests drive the fallback with it).
    #[cfg(test)]
    pub(crate) fn disable_pwait2(&self) {
        self.pwait2.store(false, Ordering::Relaxed);
    }
}

fn epoll_flags(interest: Interest) -> u32 {
    let mut flags = libc::EPOLLET | libc::EPOLLRDHUP;
    if interest.is_readable() {
        flags |= libc::EPOLLIN;
    }
    if interest.is_writable() {
        flags |= libc::EPOLLOUT;
    }
    flags as u32
}

/// Creates the epoll descriptor through `epoll_create1`, falling back to `epoll_create` +
/// `FD_CLOEXEC` when `epoll_create1` reports `ENOSYS`.
pub(crate) fn create_with(
    epoll_create1: fn(libc::c_int) -> io::Result<OwnedFd>,
) -> io::Result<Poller> {
    let epfd = match epoll_create1(libc::EPOLL_CLOEXEC) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => epoll_create_then_cloexec()?,
        result => result?,
    };
    Ok(Poller {
        epfd,
        pwait2: AtomicBool::new(HAS_PWAIT2_SYSCALL),
    })
}

fn default_epoll_create1(flags: libc::c_int) -> io::Result<OwnedFd> {
    if cfg!(sys_force_epoll_create) {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    // SAFETY: plain syscall; a returned descriptor is owned on this line.
    Ok(owned(cvt(unsafe { libc::epoll_create1(flags) })?))
}

fn epoll_create_then_cloexec() -> io::Result<OwnedFd> {
    // The size argument is ignored since Linux 2.6.8 but must be positive.
    // SAFETY: plain syscall; a returned descriptor is owned on this line.
    let epfd = owned(cvt(unsafe { libc::epoll_create(1024) })?);
    set_cloexec(epfd.as_fd())?;
    Ok(epfd)
}

impl AsRawFd for Poller {
    fn as_raw_fd(&self) -> RawFd {
        self.epfd.as_raw_fd()
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epfd.as_fd()
    }
}

/// A reusable buffer of events for [`Poller::wait`].
pub struct Events {
    buf: Box<[libc::epoll_event]>,
    len: usize,
}

impl Events {
    /// A buffer that receives at most `capacity` events per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.clamp(1, libc::c_int::MAX as usize);
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events the last wait reported.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|e| {
            // Copy out of the (packed on x86_64) struct before reading fields.
            let libc::epoll_event { events, u64: token } = *e;
            Event {
                token: Token(token as usize),
                readiness: readiness(events),
            }
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
    /// readiness); `false` if the buffer is full.
    #[cfg(sys_test_seams)]
    pub(crate) fn push_spurious(&mut self, token: Token, readiness: Readiness) -> bool {
        if self.len == self.buf.len() {
            return false;
        }
        let mut events = 0u32;
        if readiness.is_readable() {
            events |= libc::EPOLLIN as u32;
        }
        if readiness.is_writable() {
            events |= libc::EPOLLOUT as u32;
        }
        self.buf[self.len] = libc::epoll_event {
            events,
            u64: token.0 as u64,
        };
        self.len += 1;
        true
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn readiness(events: u32) -> Readiness {
    let has = |flag: libc::c_int| events & flag as u32 != 0;
    let mut r = Readiness::EMPTY;
    if has(libc::EPOLLIN) || has(libc::EPOLLPRI) {
        r |= Readiness::READABLE;
    }
    if has(libc::EPOLLOUT) {
        r |= Readiness::WRITABLE;
    }
    // EPOLLHUP: both directions are done. EPOLLRDHUP: the peer shut down its write side.
    if has(libc::EPOLLHUP) || has(libc::EPOLLRDHUP) {
        r |= Readiness::READ_CLOSED;
    }
    if has(libc::EPOLLHUP) {
        r |= Readiness::WRITE_CLOSED;
    }
    if has(libc::EPOLLERR) {
        r |= Readiness::ERROR;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn enosys(_: libc::c_int) -> io::Result<OwnedFd> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    fn eperm(_: libc::c_int) -> io::Result<OwnedFd> {
        Err(io::Error::from_raw_os_error(libc::EPERM))
    }

    #[test]
    fn enosys_from_epoll_create1_falls_back_to_a_cloexec_epoll_create() {
        let poller = create_with(enosys).expect("fallback poller");
        assert!(crate::fd::is_cloexec(poller.as_fd()).unwrap());
        let mut events = Events::with_capacity(4);
        assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    }

    #[test]
    fn other_epoll_create1_errors_are_reported_not_papered_over() {
        let err = create_with(eperm).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn fallback_poller_completes_a_readiness_round_trip() {
        let poller = create_with(enosys).unwrap();
        poller.disable_pwait2();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        poller
            .register(a.as_raw_fd(), Token(7), Interest::BOTH)
            .unwrap();
        let mut events = Events::with_capacity(4);
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.token == Token(7) && e.readiness.is_writable())
        );
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        poller
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.token == Token(7) && e.readiness.is_readable())
        );
        poller.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn epoll_wait_fallback_rounds_sub_millisecond_timeouts_up() {
        let poller = Poller::new().unwrap();
        poller.disable_pwait2();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        assert_eq!(
            poller
                .wait(&mut events, Some(Duration::from_micros(200)))
                .unwrap(),
            0
        );
        assert!(
            start.elapsed() >= Duration::from_micros(200),
            "returned before the timeout"
        );
    }

    #[test]
    fn flags_are_edge_triggered_with_rdhup() {
        let f = epoll_flags(Interest::BOTH);
        assert_ne!(f & libc::EPOLLET as u32, 0);
        assert_ne!(f & libc::EPOLLRDHUP as u32, 0);
        assert_ne!(f & libc::EPOLLIN as u32, 0);
        assert_ne!(f & libc::EPOLLOUT as u32, 0);
        assert_eq!(epoll_flags(Interest::READABLE) & libc::EPOLLOUT as u32, 0);
    }

    #[test]
    fn hangup_maps_to_both_closed_directions() {
        let r = readiness(libc::EPOLLHUP as u32);
        assert!(r.is_read_closed() && r.is_write_closed());
        let r = readiness((libc::EPOLLIN | libc::EPOLLRDHUP) as u32);
        assert!(r.is_readable() && r.is_read_closed() && !r.is_write_closed());
        assert!(readiness(libc::EPOLLERR as u32).is_error());
    }
}
