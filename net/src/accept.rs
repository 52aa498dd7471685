//! Accepting connections, with back-off when the process runs out of descriptors.
//!
//! When `accept` fails with `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM`, the pending
//! connection stays queued and the listener stays readable, so a naive
//! `loop { let _ = listener.accept().await; }` would spin. The error is returned to the
//! caller, and the *next* accept on that listener first sleeps: 10 ms, doubling up to
//! 640 ms while the condition lasts, reset by a successful accept. So the loop costs a few
//! wakeups a second at the limit and recovers by itself when descriptors free up.
//! Per-connection errors (`ECONNABORTED`, a client that reset before the accept) do not
//! trigger it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use runtime::io::AsyncFd;
use runtime::time::{Instant, Sleep, sleep_until};
use sys::socket::is_resource_exhaustion;
use sys::{SockAddr, Socket};

const FIRST: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(640);

/// The listen backlog our listeners use (tokio's default).
pub(crate) const BACKLOG: i32 = 1024;

/// A listening socket and its back-off state.
#[derive(Debug)]
pub(crate) struct Acceptor {
    pub(crate) io: AsyncFd<Socket>,
    backoff: Mutex<Backoff>,
    /// Whether `backoff` holds a back-off: the fast path reads only this.
    backing_off: AtomicBool,
    /// The back-off timer of [`poll_accept_shared`](Acceptor::poll_accept_shared) callers,
    /// which have no place of their own to keep one.
    poll_sleep: Mutex<Option<Pin<Box<Sleep>>>>,
}

#[derive(Debug, Default)]
struct Backoff {
    /// When the next accept may run.
    until: Option<Instant>,
    /// The delay the next resource error sets.
    next: Option<Duration>,
}

impl Acceptor {
    pub(crate) fn new(socket: Socket) -> io::Result<Acceptor> {
        Ok(Acceptor {
            io: AsyncFd::new(socket)?,
            backoff: Mutex::default(),
            backing_off: AtomicBool::new(false),
            poll_sleep: Mutex::default(),
        })
    }

    /// Accepts one connection, sleeping first if the last attempt ran out of resources.
    pub(crate) async fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        if let Some(until) = self.backoff_until() {
            sleep_until(until).await;
        }
        let result = self.io.read_with(Socket::accept).await;
        self.record(&result);
        result
    }

    /// Poll form of [`accept`](Acceptor::accept); `sleep` holds the back-off timer.
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
        sleep: &mut Option<Pin<Box<Sleep>>>,
    ) -> Poll<io::Result<(Socket, SockAddr)>> {
        ready!(self.poll_backoff(cx, sleep));
        self.poll_accept_now(cx)
    }

    /// [`poll_accept`](Acceptor::poll_accept) with the timer kept in the acceptor, for
    /// the listeners' own `poll_accept`. A timer dropped while pending would never wake the
    /// task. Like `AsyncFd`'s poll methods, it wakes the last task that polled. The timer's
    /// lock is held only while the timer is polled, never across `accept`.
    pub(crate) fn poll_accept_shared(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Socket, SockAddr)>> {
        if self.backing_off.load(Ordering::Acquire) {
            let mut sleep = self.poll_sleep.lock().unwrap_or_else(|e| e.into_inner());
            ready!(self.poll_backoff(cx, &mut sleep));
        }
        self.poll_accept_now(cx)
    }

    /// Waits out the back-off, if one is due, on the timer in `sleep`.
    fn poll_backoff(&self, cx: &mut Context<'_>, sleep: &mut Option<Pin<Box<Sleep>>>) -> Poll<()> {
        let Some(until) = self.backoff_until() else {
            return Poll::Ready(());
        };
        let timer = sleep.get_or_insert_with(|| Box::pin(sleep_until(until)));
        if timer.deadline() != until {
            timer.as_mut().reset(until);
        }
        timer.as_mut().poll(cx)
    }

    fn poll_accept_now(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Socket, SockAddr)>> {
        let result = ready!(self.io.poll_read_with(cx, Socket::accept));
        self.record(&result);
        Poll::Ready(result)
    }

    /// When the next accept may run, if it must wait. Lock-free unless backing off.
    fn backoff_until(&self) -> Option<Instant> {
        if !self.backing_off.load(Ordering::Acquire) {
            return None;
        }
        let backoff = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        backoff.until.filter(|&t| t > Instant::now())
    }

    /// Records an accept result: a resource error starts or lengthens the back-off, a
    /// success ends it. Lock-free for a success while not backing off.
    fn record<T>(&self, result: &io::Result<T>) {
        match result {
            Ok(_) if !self.backing_off.load(Ordering::Acquire) => {}
            Ok(_) => {
                let mut backoff = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
                *backoff = Backoff::default();
                self.backing_off.store(false, Ordering::Release);
            }
            Err(e) if is_resource_exhaustion(e) => {
                let mut backoff = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
                let delay = backoff.next.unwrap_or(FIRST);
                backoff.until = Some(Instant::now() + delay);
                backoff.next = Some((delay * 2).min(MAX));
                self.backing_off.store(true, Ordering::Release);
            }
            Err(_) => {}
        }
    }
}
