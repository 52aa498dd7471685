//! Unix signals by kind: [`signal`] returns a [`Signal`] whose [`recv`](Signal::recv)
//! completes once per delivery (bursts coalesce).

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll, ready};

use sys::signal::number;

use super::registry::{self, Listener};
use crate::io::AsyncFd;

/// Which signal to listen for (tokio's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Any signal by number. Whether it may be listened for is checked by [`signal`].
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// SIGALRM: a real-time timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(number::SIGALRM)
    }

    /// SIGCHLD: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(number::SIGCHLD)
    }

    /// SIGHUP: the terminal hung up (by convention, daemons reload).
    pub const fn hangup() -> SignalKind {
        SignalKind(number::SIGHUP)
    }

    /// SIGINT: Ctrl-C at the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(number::SIGINT)
    }

    /// SIGIO: I/O is possible on a descriptor.
    pub const fn io() -> SignalKind {
        SignalKind(number::SIGIO)
    }

    /// SIGPIPE: a write to a pipe or socket with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(number::SIGPIPE)
    }

    /// SIGQUIT: Ctrl-\\ at the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(number::SIGQUIT)
    }

    /// SIGTERM: a request to terminate.
    pub const fn terminate() -> SignalKind {
        SignalKind(number::SIGTERM)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(number::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(number::SIGUSR2)
    }

    /// SIGWINCH: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(number::SIGWINCH)
    }
}

impl From<c_int> for SignalKind {
    fn from(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for c_int {
    fn from(kind: SignalKind) -> c_int {
        kind.0
    }
}

/// Deliveries of one signal to this process; see [`signal`].
#[derive(Debug)]
pub struct Signal {
    /// This listener's own dup of the self-pipe's read end, in its runtime's reactor.
    fd: AsyncFd<OwnedFd>,
    listener: Listener,
}

/// Listens for `kind` from now on, in the current runtime.
///
/// The first call for a signal installs a process-wide handler, which stays for the life
/// of the process: the signal's default action (terminating, say) no longer happens.
/// Every `Signal` of a kind is woken by each delivery, whichever runtime it belongs to.
///
/// # Errors
///
/// `InvalidInput` for SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV and numbers out of
/// range; an error outside a runtime; the OS error if a descriptor cannot be had.
///
/// # Examples
///
/// ```no_run
/// use runtime::signal::unix::{SignalKind, signal};
///
/// # runtime::Runtime::new()?.block_on(async {
/// let mut hangups = signal(SignalKind::hangup())?;
/// while hangups.recv().await.is_some() {
///     println!("reloading the configuration");
/// }
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    // Bad input and a missing runtime fail before the handler is installed, so a failed
    // call never leaves a signal caught with nobody listening.
    sys::signal::check(kind.0)?;
    let fd = AsyncFd::new(sys::signal::receiver()?)?;
    let listener = Listener::new(kind.0)?;
    Ok(Signal { fd, listener })
}

impl Signal {
    /// Waits for the next delivery of the signal. `None` once the runtime has shut down.
    ///
    /// Deliveries since this `Signal` was created or last returned are reported once,
    /// however many there were. As in tokio, a delivery that no listener has consumed yet
    /// (one that arrived while this signal had no `Signal` at all, say) may be reported
    /// to a `Signal` created after it.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Signal::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        loop {
            if self.listener.poll_fired(cx).is_ready() {
                return Poll::Ready(Some(()));
            }
            let Ok(mut guard) = ready!(self.fd.poll_read_ready(cx)) else {
                return Poll::Ready(None);
            };
            // Drain first, then take the pending flags (sys::signal's protocol).
            let drained = guard.try_io(|fd| Err::<(), _>(sys::signal::drain(fd.get_ref().as_fd())));
            if drained.is_ok() {
                // Not WouldBlock: clear anyway, or a broken pipe would spin this loop.
                guard.clear_ready();
            }
            registry::dispatch();
        }
    }
}
