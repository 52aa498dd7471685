//! `UnixStream`.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use runtime::io::{AsyncFd, Interest, Ready};
use sys::{Domain, SockAddr, Socket, Type};

use super::split_owned::{self, OwnedReadHalf, OwnedWriteHalf};
use super::{SocketAddr, UCred};
use crate::stream::{impl_as_fd, impl_byte_stream};

/// A Unix stream connection. Implements `futures_io::AsyncRead`/`AsyncWrite`, also for
/// `&UnixStream`; with the feature `tokio-io`, tokio's `AsyncRead`/`AsyncWrite` too.
///
/// # Examples
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (mut a, mut b) = net::UnixStream::pair()?;
/// a.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    pub(crate) io: AsyncFd<Socket>,
}

impl UnixStream {
    /// Connects to the listener at `path` (`"\0name"`: a Linux abstract name).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path that does not fit; `NotFound` / `ConnectionRefused` if
    /// nothing listens there; an error outside a runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path.as_ref())?;
        let socket = Socket::new(Domain::Unix, Type::Stream)?;
        let connected = socket.connect(&addr)?;
        let stream = UnixStream::from_socket(socket)?;
        if !connected {
            stream.io.writable().await?.retain_ready();
            if let Some(e) = stream.io.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// A connected pair of unnamed streams.
    ///
    /// # Errors
    ///
    /// The OS error, or an error outside a runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Type::Stream)?;
        Ok((UnixStream::from_socket(a)?, UnixStream::from_socket(b)?))
    }

    pub(crate) fn from_socket(socket: Socket) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: AsyncFd::new(socket)?,
        })
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::decode(self.io.get_ref().local_addr()?)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::decode(self.io.get_ref().peer_addr()?)
    }

    /// The peer's credentials (uid and gid everywhere, pid on Linux).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        self.io.get_ref().peer_cred()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Receives into `buf` without removing the data from the queue, as
    /// [`TcpStream::peek`](crate::TcpStream::peek). Data already queued is returned at once
    /// on every call: waiting for more is up to the caller.
    ///
    /// # Errors
    ///
    /// OS errors unchanged.
    pub fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.io.read_with(|s| s.peek(buf))
    }

    /// Shuts down the read, write, or both halves.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the stream is ready for any of `interest`'s directions and says which, as
    /// tokio's `ready`: e.g. `Interest::READABLE | Interest::WRITABLE` in one wait. The
    /// readiness is kept for the next operation; one that then returns `WouldBlock` clears
    /// it ([`try_read`](Self::try_read), [`try_write`](Self::try_write)).
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let mut guard = self.io.ready(interest).await?;
        guard.retain_ready();
        Ok(guard.ready())
    }

    /// Waits until the stream is readable.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await?.retain_ready();
        Ok(())
    }

    /// Waits until the stream is writable.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await?.retain_ready();
        Ok(())
    }

    /// Reads without waiting: `WouldBlock` if no data is known to be there.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Writes without waiting: `WouldBlock` if there is no room known.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Adopts a std stream (made non-blocking and close-on-exec here).
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_socket(Socket::from_owned(OwnedFd::from(stream))?)
    }

    /// Deregisters and returns a std stream (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(OwnedFd::from(self.io.into_inner()).into())
    }

    /// Splits the stream into owned halves that can move to different tasks; `reunite`
    /// joins them back. Dropping the write half shuts the write side down, as in tokio.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned::split_owned(self)
    }
}

impl_byte_stream!(UnixStream, &UnixStream);
impl_as_fd!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}
