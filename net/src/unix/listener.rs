//! `UnixListener`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use runtime::time::Sleep;
use sys::{Domain, Role, SockAddr, Socket, Type, UnixAddr};

use super::{SocketAddr, UnixStream};
use crate::accept::{Acceptor, BACKLOG};

/// A Unix stream socket listening for connections.
///
/// `bind` refuses to replace an existing file: binding over a stale socket file is
/// `AddrInUse` (remove it first if you know it is stale). The socket file is not removed
/// when the listener drops, as with std and tokio.
///
/// # Examples
///
/// ```no_run
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let listener = net::UnixListener::bind("/tmp/app.sock")?;
/// let (stream, _addr) = listener.accept().await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    acceptor: Acceptor,
}

impl UnixListener {
    /// Binds to `path` and listens. Must be called inside a runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path that does not fit `sun_path` or holds a NUL byte
    /// (nothing is created); `AddrInUse` if the path exists; an error outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let addr = SockAddr::unix(path.as_ref())?;
        let socket = Socket::new(Domain::Unix, Type::Stream)?;
        socket.apply_reuse_policy(Role::UnixListener)?;
        socket.bind(&addr)?;
        // From here on the socket file is ours: remove it if we cannot finish.
        let listening = socket.listen(BACKLOG).and_then(|()| Acceptor::new(socket));
        match listening {
            Ok(acceptor) => Ok(UnixListener { acceptor }),
            Err(e) => {
                if let Some(UnixAddr::Pathname(path)) = addr.as_unix() {
                    let _ = std::fs::remove_file(path);
                }
                Err(e)
            }
        }
    }

    /// Accepts a connection.
    ///
    /// # Errors
    ///
    /// OS errors such as `EMFILE` (then the next call backs off first).
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (socket, addr) = self.acceptor.accept().await?;
        Ok((UnixStream::from_socket(socket)?, SocketAddr::decode(addr)?))
    }

    /// Poll form of [`accept`](UnixListener::accept), with the same back-off; its timer
    /// wakes the last task that polled (see [`incoming`](UnixListener::incoming)).
    ///
    /// # Errors
    ///
    /// As [`accept`](UnixListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (socket, addr) = ready!(self.acceptor.poll_accept_shared(cx))?;
        Poll::Ready(Ok((
            UnixStream::from_socket(socket)?,
            SocketAddr::decode(addr)?,
        )))
    }

    /// A stream of accepted connections, backing off like `accept`.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            sleep: None,
        }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::decode(self.acceptor.io.get_ref().local_addr()?)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.acceptor.io.get_ref().take_error()
    }

    /// Adopts a std listener (made non-blocking and close-on-exec here).
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        let socket = Socket::from_owned(OwnedFd::from(listener))?;
        Ok(UnixListener {
            acceptor: Acceptor::new(socket)?,
        })
    }

    /// Deregisters and returns a std listener (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(OwnedFd::from(self.acceptor.io.into_inner()).into())
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.acceptor.io.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.acceptor.io.as_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// The stream returned by [`UnixListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let accepted = ready!(this.listener.acceptor.poll_accept(cx, &mut this.sleep));
        Poll::Ready(Some(
            accepted.and_then(|(socket, _)| UnixStream::from_socket(socket)),
        ))
    }
}
