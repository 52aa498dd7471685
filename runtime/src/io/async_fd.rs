//! `AsyncFd`: readiness-based async I/O for any `AsRawFd`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll, ready};

use super::{Interest, Ready};
use crate::reactor::{Direction, ReadyEvent, Registration};

/// Registers a descriptor with the reactor and waits for it to become readable or
/// writable.
///
/// The descriptor must be non-blocking: operations on it are attempted when the reactor
/// reports readiness, and a `WouldBlock` clears that readiness and waits for the next edge.
/// Readiness that arrives between the failed operation and the clear is never lost. Any
/// number of tasks may wait on one `AsyncFd` at once; each is woken.
///
/// Dropping an `AsyncFd` deregisters the descriptor *before* the inner value (and with it,
/// typically, the descriptor) is dropped.
///
/// The waiting methods (`readable`, `writable`, `poll_*_ready`, `*_with`) take part in the
/// task's cooperative budget ([`consume_budget`](crate::task::consume_budget)): each
/// operation that completes takes one unit, and once the budget is spent they return
/// `Pending` and wake the task, so a descriptor that is always ready lets the other tasks
/// run. A type built on these methods (a socket's `AsyncRead`, say) takes part for free;
/// `try_io` does not wait and is not charged.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncFd;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (a, mut b) = UnixStream::pair()?;
/// a.set_nonblocking(true)?;
/// let a = AsyncFd::new(a)?;
/// b.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// let n = a.read_with(|mut s| s.read(&mut buf)).await?;
/// assert_eq!(&buf[..n], b"hi");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncFd<T: AsRawFd> {
    registration: Registration,
    /// `None` only after `into_inner` took it (and deregistered).
    inner: Option<T>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor with the current runtime's reactor.
    ///
    /// # Errors
    ///
    /// An error if called outside a runtime (there is no reactor to register with), if the
    /// runtime has shut down, or the poller's error (e.g. `AlreadyExists` if the descriptor
    /// is registered through another `AsyncFd`).
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let reactor = crate::context::io_handle()?;
        let registration = Registration::new(inner.as_raw_fd(), reactor)?;
        Ok(AsyncFd {
            registration,
            inner: Some(inner),
        })
    }

    /// The inner value.
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("inner is present until into_inner")
    }

    /// The inner value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("inner is present until into_inner")
    }

    /// Deregisters the descriptor and returns the inner value.
    pub fn into_inner(mut self) -> T {
        let inner = self
            .inner
            .take()
            .expect("inner is present until into_inner");
        // An error means the descriptor was closed behind our back; the caller gets it
        // back either way, and our slot is gone already.
        let _ = self.registration.deregister(inner.as_raw_fd());
        inner
    }

    /// Waits until the descriptor is readable (or read-closed, or in error).
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.registration.readiness(Direction::Read).await?;
        Ok(self.guard(event))
    }

    /// Waits until the descriptor is writable (or write-closed, or in error).
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.registration.readiness(Direction::Write).await?;
        Ok(self.guard(event))
    }

    /// Waits until the descriptor is ready for any of `interest`'s directions; the guard's
    /// [`ready`](AsyncFdReadyGuard::ready) says which (both, if both are), as tokio's
    /// `AsyncFd::ready`.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = match (interest.is_readable(), interest.is_writable()) {
            (true, false) => self.registration.readiness(Direction::Read).await?,
            (false, true) => self.registration.readiness(Direction::Write).await?,
            _ => self.registration.readiness_either().await?,
        };
        Ok(self.guard(event))
    }

    /// Poll form of [`readable`](AsyncFd::readable). Only the last task to poll is woken
    /// (one waker slot per direction, as in tokio); use `readable()` for many waiters.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub fn poll_read_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        let event = ready!(self.registration.poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(self.guard(event)))
    }

    /// Poll form of [`writable`](AsyncFd::writable); see
    /// [`poll_read_ready`](AsyncFd::poll_read_ready).
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub fn poll_write_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        let event = ready!(self.registration.poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(self.guard(event)))
    }

    /// Runs `op` whenever the descriptor is readable, until it returns something other
    /// than `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the runtime has shut down.
    pub fn read_with<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> impl Future<Output = io::Result<R>> {
        let inner = self.get_ref();
        self.registration
            .async_io(Direction::Read, move || op(inner))
    }

    /// Runs `op` whenever the descriptor is writable, until it returns something other
    /// than `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the runtime has shut down.
    pub fn write_with<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> impl Future<Output = io::Result<R>> {
        let inner = self.get_ref();
        self.registration
            .async_io(Direction::Write, move || op(inner))
    }

    /// Poll form of [`read_with`](AsyncFd::read_with), for `AsyncRead` implementations.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the runtime has shut down.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.registration.poll_io(cx, Direction::Read, || op(inner))
    }

    /// Poll form of [`write_with`](AsyncFd::write_with), for `AsyncWrite` implementations.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the runtime has shut down.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.registration
            .poll_io(cx, Direction::Write, || op(inner))
    }

    /// Runs `op` once, without waiting, if the reactor has reported the descriptor ready
    /// for `interest` (readable if it includes `READABLE`, else writable). If `op` returns
    /// `WouldBlock`, that readiness is cleared. If the descriptor is not known to be ready,
    /// returns `WouldBlock` without calling `op`. This is how `try_read`/`try_write` style
    /// methods are built.
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above, `op`'s error, or an error if the runtime has shut down.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let direction = if interest.is_readable() {
            Direction::Read
        } else {
            Direction::Write
        };
        let inner = self.get_ref();
        self.registration.try_io(direction, || op(inner))
    }

    fn guard(&self, event: ReadyEvent) -> AsyncFdReadyGuard<'_, T> {
        AsyncFdReadyGuard {
            fd: self,
            ready: event.ready,
            event: Some(event),
        }
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            // Deregister while the descriptor is still open; `inner` drops (and closes it)
            // after this. An error here means it was closed behind our back: nothing to do.
            let _ = self.registration.deregister(inner.as_raw_fd());
        }
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Readiness granted by [`AsyncFd::readable`], [`AsyncFd::writable`] or
/// [`AsyncFd::ready`].
///
/// Use [`try_io`](AsyncFdReadyGuard::try_io) to run the operation: a `WouldBlock` clears
/// the readiness so the next wait sleeps until a new edge.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    /// What was granted (kept for `ready()` after `retain_ready`).
    ready: Ready,
    /// Cleared on `clear_ready` or a `WouldBlock`; `None` once cleared or retained.
    event: Option<ReadyEvent>,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// What the descriptor was ready for.
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// Clears the readiness, as after a `WouldBlock` the caller saw itself.
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.registration.clear_readiness(event);
        }
    }

    /// Keeps the readiness (the default when the guard is dropped).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// Runs `op`; if it fails with `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)` so the caller waits again.
    ///
    /// # Errors
    ///
    /// `Err(TryIoError)` on `WouldBlock`; otherwise `Ok` with `op`'s own result.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Some(event) = self.event.take() {
                    self.fd.registration.clear_after_would_block(event);
                }
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard came from.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The inner value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", &self.fd)
            .field("ready", &self.ready())
            .finish()
    }
}

/// The operation in [`AsyncFdReadyGuard::try_io`] would have blocked; readiness was
/// cleared, so wait again.
#[derive(Debug)]
pub struct TryIoError(());
