//! One descriptor's membership in the reactor: readiness polling and the retry loop that
//! clears readiness on `WouldBlock`.
//!
//! Every waiting entry point takes one unit of the task's cooperative budget per
//! operation that completes (`task/coop.rs`): a readiness that is granted, or an `op`
//! that returns something other than `WouldBlock` (the retries inside one operation
//! cost nothing more). Once the budget is spent they return `Pending` and wake the
//! task, so a descriptor that is always ready cannot starve the others. `try_io` does
//! not wait and is not charged.

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::RawFd;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use sys::Token;

use super::scheduled_io::WaitReady;
use super::{Direction, ReactorHandle, ReadyEvent, ScheduledIo};
use crate::task::coop;

/// A registered descriptor. Deregister it (with the fd) before the fd closes.
#[derive(Debug)]
pub(crate) struct Registration {
    handle: Arc<ReactorHandle>,
    io: Arc<ScheduledIo>,
    token: Token,
}

impl Registration {
    /// Registers `fd` with the reactor behind `handle`, for both directions.
    pub(crate) fn new(fd: RawFd, handle: Arc<ReactorHandle>) -> io::Result<Registration> {
        let (io, token) = handle.register(fd)?;
        Ok(Registration { handle, io, token })
    }

    /// Poll-based readiness for `direction` (one waker slot per direction).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let coop = ready!(coop::poll_proceed(cx));
        let event = ready!(self.io.poll_ready(cx, direction));
        coop.made_progress();
        Poll::Ready(event)
    }

    /// Future-based readiness for `direction` (any number of waiters).
    pub(crate) async fn readiness(&self, direction: Direction) -> io::Result<ReadyEvent> {
        let mut wait = pin!(self.io.readiness(direction));
        poll_fn(|cx| {
            let coop = ready!(coop::poll_proceed(cx));
            let event = ready!(wait.as_mut().poll(cx));
            coop.made_progress();
            Poll::Ready(event)
        })
        .await
    }

    /// Future-based readiness for either direction: the first to be ready, reported with
    /// whatever the other direction has at the same tick. Waits in both directions' waiter
    /// lists (the protocol is unchanged) and takes one snapshot of both once either wakes.
    pub(crate) async fn readiness_either(&self) -> io::Result<ReadyEvent> {
        let mask = Direction::Read.mask() | Direction::Write.mask();
        let mut read = pin!(self.io.readiness(Direction::Read));
        let mut write = pin!(self.io.readiness(Direction::Write));
        poll_fn(|cx| {
            let coop = ready!(coop::poll_proceed(cx));
            loop {
                let (r, w) = (read.as_mut().poll(cx), write.as_mut().poll(cx));
                match (r, w) {
                    (Poll::Pending, Poll::Pending) => return Poll::Pending,
                    (Poll::Ready(Err(e)), _) | (_, Poll::Ready(Err(e))) => {
                        return Poll::Ready(Err(e));
                    }
                    _ => {}
                }
                // `None`: another task cleared it in between; a completed wait, polled
                // again, waits afresh, so this loops only while readiness keeps changing.
                if let Some(event) = self.io.ready_in(mask) {
                    coop.made_progress();
                    return Poll::Ready(event);
                }
            }
        })
        .await
    }

    /// Clears readiness granted by `event` on the caller's judgement (closed bits stay).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Clears everything `event` granted after an operation returned `WouldBlock`.
    pub(crate) fn clear_after_would_block(&self, event: ReadyEvent) {
        self.io.clear_after_would_block(event);
    }

    /// Runs `op` when `direction` is ready; on `WouldBlock` clears that readiness and waits
    /// for the next edge. Any other result (success or error) is returned.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.io.poll_ready(cx, direction))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_after_would_block(event);
                }
                result => {
                    coop.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// The async form of [`poll_io`](Registration::poll_io), for any number of waiters.
    ///
    /// A named future rather than an `async fn`: a task waiting in it holds one of these
    /// inside its own future, so its size is paid per waiting connection (48 bytes with a
    /// closure of two references, against 120 for the `async fn` and `poll_fn` it replaces).
    pub(crate) fn async_io<R, F>(&self, direction: Direction, op: F) -> AsyncIo<'_, F>
    where
        F: FnMut() -> io::Result<R>,
    {
        AsyncIo {
            wait: self.io.readiness(direction),
            op,
        }
    }

    /// Runs `op` once if `direction` is ready now; on `WouldBlock` clears that readiness.
    /// Not ready: `WouldBlock` without calling `op`.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let Some(event) = self.io.ready_now(direction).transpose()? else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.io.clear_after_would_block(event);
                Err(e)
            }
            result => result,
        }
    }

    /// Removes `fd` from the reactor. Our state goes first, then the poller's entry.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.handle.deregister(fd, self.token)
    }
}

/// The future returned by [`Registration::async_io`].
#[derive(Debug)]
pub(crate) struct AsyncIo<'a, F> {
    /// The current wait for readiness; renewed after every `WouldBlock`.
    wait: WaitReady<'a>,
    op: F,
}

// No field is pinned: `wait` is `Unpin` and `op` is only ever called through `&mut`.
impl<F> Unpin for AsyncIo<'_, F> {}

impl<R, F: FnMut() -> io::Result<R>> Future for AsyncIo<'_, F> {
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(Pin::new(&mut this.wait).poll(cx))?;
            match (this.op)() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The wait completed (it holds no waiter); polled again, it waits afresh.
                    this.wait.io().clear_after_would_block(event);
                }
                result => {
                    coop.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }
}
