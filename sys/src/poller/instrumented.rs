//! The instrumented poller, built only with `--cfg sys_test_seams` (never in a normal
//! build): the backend's `Poller` behind a wrapper that counts every call and lets a test
//! inject what a hostile kernel does.
//!
//! - Failures: the next `n` creations, registrations or waits fail with a chosen errno
//!   (`EMFILE`, `ENOSYS`, `ENOMEM`...). A wait's injected error is raised inside the
//!   backend's retry loop, so an injected `EINTR` exercises the real retry path and never
//!   reaches the caller.
//! - Spurious readiness: with a chosen probability per wait, one registered token is
//!   reported ready although nothing happened (as epoll may after a descriptor is
//!   duplicated, and as readiness-based code must tolerate).
//! - Order of teardown: `deregister` checks that the descriptor is still open; one closed
//!   first (the fd-reuse hazard) is counted.
//!
//! The settings and counts are process-wide (tests that use them run alone in a child
//! process). Everything is plain atomics and one mutex, off the normal build entirely.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::{Events, Interest, Readiness, Token, imp};

/// Counts of calls into every instrumented poller of the process, from [`counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollerCounts {
    /// Pollers created (successfully).
    pub created: u64,
    /// `wait` calls.
    pub waits: u64,
    /// `register` calls.
    pub registers: u64,
    /// `modify` calls.
    pub modifies: u64,
    /// `deregister` calls.
    pub deregisters: u64,
    /// `deregister` calls for a descriptor already closed: the bug the check is for.
    pub deregistered_after_close: u64,
    /// Spurious events reported.
    pub spurious: u64,
}

/// A failure to inject: the next `times` calls fail with `errno`.
#[derive(Clone, Copy, Debug)]
struct Failure {
    errno: i32,
    times: u64,
}

#[derive(Default)]
struct Seams {
    counts: PollerCounts,
    fail_create: Option<Failure>,
    fail_register: Option<Failure>,
    fail_wait: Option<Failure>,
    /// Chance per wait, in parts per million, of one spurious event.
    spurious_ppm: u32,
    rand: u64,
    /// Registered (poller fd, fd) -> token, to pick spurious events from.
    registered: HashMap<(RawFd, RawFd), Token>,
}

static SEAMS: Mutex<Option<Seams>> = Mutex::new(None);
/// Waits, counted outside the lock (the hot call).
static WAITS: AtomicU64 = AtomicU64::new(0);

fn with<R>(f: impl FnOnce(&mut Seams) -> R) -> R {
    let mut seams = SEAMS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(seams.get_or_insert_with(|| Seams {
        rand: 0x2545_F491_4F6C_DD1D,
        ..Seams::default()
    }))
}

fn take(failure: &mut Option<Failure>) -> Option<io::Error> {
    let f = failure.as_mut()?;
    let error = io::Error::from_raw_os_error(f.errno);
    f.times -= 1;
    if f.times == 0 {
        *failure = None;
    }
    Some(error)
}

/// The calls counted so far, by every poller of the process.
pub fn counts() -> PollerCounts {
    let mut counts = with(|s| s.counts);
    counts.waits = WAITS.load(Relaxed);
    counts
}

/// The next `times` poller creations fail with `errno`.
pub fn fail_creations(errno: i32, times: u64) {
    with(|s| s.fail_create = (times > 0).then_some(Failure { errno, times }));
}

/// The next `times` registrations fail with `errno`.
pub fn fail_registrations(errno: i32, times: u64) {
    with(|s| s.fail_register = (times > 0).then_some(Failure { errno, times }));
}

/// The next `times` waits fail with `errno` inside the backend's retry loop (`EINTR` is
/// retried there; anything else reaches the caller).
pub fn fail_waits(errno: i32, times: u64) {
    with(|s| s.fail_wait = (times > 0).then_some(Failure { errno, times }));
}

/// Each wait reports one spurious event with probability `ppm` / 1,000,000.
pub fn set_spurious_readiness(ppm: u32) {
    with(|s| s.spurious_ppm = ppm.min(1_000_000));
}

/// Called by the backend at each wait attempt: the injected error, if one is due.
pub(crate) fn injected_wait_error() -> Option<io::Error> {
    with(|s| take(&mut s.fail_wait))
}

/// The backend's poller with every call counted.
#[derive(Debug)]
pub struct Poller {
    inner: imp::Poller,
}

impl Poller {
    /// See the backend's `Poller::new`; may fail with an injected error.
    ///
    /// # Errors
    ///
    /// The injected error, or the backend's.
    pub fn new() -> io::Result<Poller> {
        if let Some(error) = with(|s| take(&mut s.fail_create)) {
            return Err(error);
        }
        let inner = imp::Poller::new()?;
        with(|s| s.counts.created += 1);
        Ok(Poller { inner })
    }

    /// See the backend's `Poller::register`; may fail with an injected error.
    ///
    /// # Errors
    ///
    /// The injected error, or the backend's.
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let key = (self.inner.as_raw_fd(), fd);
        if let Some(error) = with(|s| {
            s.counts.registers += 1;
            take(&mut s.fail_register)
        }) {
            return Err(error);
        }
        self.inner.register(fd, token, interest)?;
        with(|s| s.registered.insert(key, token));
        Ok(())
    }

    /// See the backend's `Poller::modify`.
    ///
    /// # Errors
    ///
    /// The backend's.
    pub fn modify(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        with(|s| s.counts.modifies += 1);
        self.inner.modify(fd, token, interest)?;
        with(|s| s.registered.insert((self.inner.as_raw_fd(), fd), token));
        Ok(())
    }

    /// See the backend's `Poller::deregister`; counts a descriptor closed before it.
    ///
    /// # Errors
    ///
    /// The backend's.
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: F_GETFD only inspects the descriptor table entry; no pointer.
        let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
        with(|s| {
            s.counts.deregisters += 1;
            s.counts.deregistered_after_close += u64::from(!open);
            s.registered.remove(&(self.inner.as_raw_fd(), fd));
        });
        self.inner.deregister(fd)
    }

    /// See the backend's `Poller::wait`; may add one spurious event.
    ///
    /// # Errors
    ///
    /// The injected error (other than `EINTR`), or the backend's.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        WAITS.fetch_add(1, Relaxed);
        let n = self.inner.wait(events, timeout)?;
        let spurious = with(|s| {
            if s.spurious_ppm == 0 || s.registered.is_empty() {
                return None;
            }
            s.rand ^= s.rand << 13;
            s.rand ^= s.rand >> 7;
            s.rand ^= s.rand << 17;
            if (s.rand % 1_000_000) as u32 >= s.spurious_ppm {
                return None;
            }
            let epfd = self.inner.as_raw_fd();
            let ours: Vec<Token> = s
                .registered
                .iter()
                .filter(|((poller, _), _)| *poller == epfd)
                .map(|(_, token)| *token)
                .collect();
            let token = *ours.get((s.rand >> 32) as usize % ours.len().max(1))?;
            s.counts.spurious += 1;
            Some(token)
        });
        match spurious {
            Some(token)
                if events.push_spurious(token, Readiness::READABLE | Readiness::WRITABLE) =>
            {
                Ok(n + 1)
            }
            _ => Ok(n),
        }
    }
}

impl AsRawFd for Poller {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}
