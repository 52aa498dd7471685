//! `UnixDatagram`.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use runtime::io::{AsyncFd, Interest, Ready};
use sys::{Domain, SockAddr, Socket, Type, UnixAddr};

use super::SocketAddr;
use crate::stream::impl_as_fd;

/// A Unix datagram socket. No reuse option is ever set on it.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (a, b) = net::UnixDatagram::pair()?;
/// a.send(b"one").await?;
/// let mut buf = [0; 16];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"one");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    io: AsyncFd<Socket>,
}

impl UnixDatagram {
    /// Binds to `path`. Must be called inside a runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path that does not fit or holds a NUL; `AddrInUse` if the path
    /// exists; an error outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = SockAddr::unix(path.as_ref())?;
        let socket = Socket::new(Domain::Unix, Type::Datagram)?;
        socket.bind(&addr)?;
        // From here on the socket file is ours: remove it if we cannot finish.
        UnixDatagram::from_socket(socket).inspect_err(|_| {
            if let Some(UnixAddr::Pathname(path)) = addr.as_unix() {
                let _ = std::fs::remove_file(path);
            }
        })
    }

    /// A socket bound to no address.
    ///
    /// # Errors
    ///
    /// The OS error, or an error outside a runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(Socket::new(Domain::Unix, Type::Datagram)?)
    }

    /// A connected pair of unnamed sockets.
    ///
    /// # Errors
    ///
    /// The OS error, or an error outside a runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Type::Datagram)?;
        Ok((UnixDatagram::from_socket(a)?, UnixDatagram::from_socket(b)?))
    }

    fn from_socket(socket: Socket) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: AsyncFd::new(socket)?,
        })
    }

    /// Connects to the socket at `path`: `send`/`recv` then use that peer.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad path; `NotFound` / `ConnectionRefused`.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = SockAddr::unix(path.as_ref())?;
        self.io.get_ref().connect(&addr).map(drop)
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected`; an oversize datagram is `EMSGSIZE`.
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.io.write_with(|s| s.send(buf))
    }

    /// Receives a datagram (truncated to `buf` if longer, as with any datagram receive).
    ///
    /// # Errors
    ///
    /// OS errors unchanged.
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.io.read_with(|s| s.recv(buf))
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad path; the OS error.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = SockAddr::unix(path.as_ref())?;
        self.io.write_with(|s| s.send_to(buf, &addr)).await
    }

    /// Receives a datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// OS errors unchanged.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.read_with(|s| s.recv_from(buf)).await?;
        Ok((n, SocketAddr::decode(from)?))
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the socket is not known
    /// to be writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, `NotConnected`, or OS errors unchanged.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Receives without waiting: `WouldBlock` if no datagram is known to be queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Sends to the socket at `path` without waiting.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad path; `WouldBlock`; the OS error.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = SockAddr::unix(path.as_ref())?;
        self.io
            .try_io(Interest::WRITABLE, |s| s.send_to(buf, &addr))
    }

    /// Receives a datagram and its sender's address without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.try_io(Interest::READABLE, |s| s.recv_from(buf))?;
        Ok((n, SocketAddr::decode(from)?))
    }

    /// Waits until the socket is ready for any of `interest`'s directions and says which, as
    /// tokio's `ready`. The readiness is kept for the next operation; one that then returns
    /// `WouldBlock` clears it.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let mut guard = self.io.ready(interest).await?;
        guard.retain_ready();
        Ok(guard.ready())
    }

    /// Waits until a datagram can be received.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await?.retain_ready();
        Ok(())
    }

    /// Waits until a datagram can be sent.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await?.retain_ready();
        Ok(())
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::decode(self.io.get_ref().local_addr()?)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or the OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::decode(self.io.get_ref().peer_addr()?)
    }

    /// Shuts down the read, write, or both halves.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Adopts a std socket (made non-blocking and close-on-exec here).
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(Socket::from_owned(OwnedFd::from(socket))?)
    }

    /// Deregisters and returns a std socket (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(OwnedFd::from(self.io.into_inner()).into())
    }
}

impl_as_fd!(UnixDatagram);

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}
