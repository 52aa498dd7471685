//! `TcpListener`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use runtime::time::Sleep;
use sys::{Role, Socket, Type};

use super::TcpStream;
use crate::accept::{Acceptor, BACKLOG};
use crate::addr::{ToSocketAddrs, each_addr};
use crate::stream::{domain, inet};

/// A TCP socket listening for connections.
///
/// `bind` sets `SO_REUSEADDR` (a restarted server can rebind at once) and never
/// `SO_REUSEPORT`; use [`TcpSocket::set_reuseport`](crate::TcpSocket::set_reuseport) to
/// share a port between listeners on purpose.
///
/// When the process runs out of descriptors, `accept` returns the error and the next
/// `accept` waits a short back-off first (10 ms doubling to 640 ms), so an accept loop
/// never spins; see the crate's `accept` module docs.
///
/// # Examples
///
/// ```no_run
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let listener = net::TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     runtime::spawn(async move { /* serve `stream` from `peer` */ drop((stream, peer)) });
/// }
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    acceptor: Acceptor,
}

impl TcpListener {
    /// Binds to `addr` (each resolved address is tried in order) and listens.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address or an empty list; `AddrInUse` if the port is
    /// taken; an error outside a runtime; other OS errors unchanged.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |addr| async move { Self::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(domain(&addr), Type::Stream)?;
        socket.apply_reuse_policy(Role::TcpListener)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        TcpListener::from_socket(socket)
    }

    pub(crate) fn from_socket(socket: Socket) -> io::Result<TcpListener> {
        Ok(TcpListener {
            acceptor: Acceptor::new(socket)?,
        })
    }

    /// Accepts a connection.
    ///
    /// # Errors
    ///
    /// OS errors such as `EMFILE` (then the next call backs off first).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self.acceptor.accept().await?;
        Ok((TcpStream::from_socket(socket)?, inet(addr)?))
    }

    /// Poll form of [`accept`](TcpListener::accept), with the same back-off; its timer wakes
    /// the last task that polled (use [`incoming`](TcpListener::incoming) per task).
    ///
    /// # Errors
    ///
    /// As [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (socket, addr) = ready!(self.acceptor.poll_accept_shared(cx))?;
        Poll::Ready(Ok((TcpStream::from_socket(socket)?, inet(addr)?)))
    }

    /// A stream of accepted connections (`futures_core::Stream<Item = io::Result<TcpStream>>`).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            sleep: None,
        }
    }

    /// The bound address (with the port the OS chose for port 0).
    ///
    /// # Errors
    ///
    /// The OS error from `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(self.acceptor.io.get_ref().local_addr()?)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.acceptor.io.get_ref().take_error()
    }

    /// Sets `IP_TTL` for accepted connections.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.acceptor.io.get_ref().set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.acceptor.io.get_ref().ttl()
    }

    /// Adopts a std listener (made non-blocking and close-on-exec here). Its options are
    /// left as they are.
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_socket(Socket::from_owned(OwnedFd::from(listener))?)
    }

    /// Deregisters and returns a std listener (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(OwnedFd::from(self.acceptor.io.into_inner()).into())
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.acceptor.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.acceptor.io.as_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// The stream returned by [`TcpListener::incoming`]; it backs off like `accept`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let accepted = ready!(this.listener.acceptor.poll_accept(cx, &mut this.sleep));
        Poll::Ready(Some(
            accepted.and_then(|(socket, _)| TcpStream::from_socket(socket)),
        ))
    }
}
