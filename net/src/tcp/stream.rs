//! `TcpStream`.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use runtime::io::{AsyncFd, Interest, Ready};
use sys::{Socket, Type};

use super::split_owned::{self, OwnedReadHalf, OwnedWriteHalf};
use crate::addr::{ToSocketAddrs, each_addr};
use crate::stream::{domain, impl_as_fd, impl_byte_stream, inet};

/// A TCP connection. Implements `futures_io::AsyncRead`/`AsyncWrite`, also for
/// `&TcpStream`, so one task can read while another writes; with the feature `tokio-io`,
/// tokio's `AsyncRead`/`AsyncWrite` too.
///
/// No write raises `SIGPIPE`: writing to a closed peer is a `BrokenPipe` or
/// `ConnectionReset` error.
///
/// # Examples
///
/// ```no_run
/// use futures_util::io::AsyncWriteExt;
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let mut stream = net::TcpStream::connect("127.0.0.1:8080").await?;
/// stream.write_all(b"hello").await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    pub(crate) io: AsyncFd<Socket>,
}

impl TcpStream {
    /// Connects to `addr`; each resolved address is tried in order.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address or an empty list; `ConnectionRefused`;
    /// an error outside a runtime; other OS errors unchanged.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, |addr| async move {
            let socket = Socket::new(domain(&addr), Type::Stream)?;
            TcpStream::connect_socket(socket, addr).await
        })
        .await
    }

    /// Connects `socket` (already configured) to `addr`.
    pub(crate) async fn connect_socket(socket: Socket, addr: SocketAddr) -> io::Result<TcpStream> {
        let connected = socket.connect(&addr.into())?;
        let stream = TcpStream::from_socket(socket)?;
        if !connected {
            // Writable (or in error) once the handshake is over; the error, if any, is in
            // SO_ERROR. The readiness is kept for the first write.
            stream.io.writable().await?.retain_ready();
            if let Some(e) = stream.io.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    pub(crate) fn from_socket(socket: Socket) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: AsyncFd::new(socket)?,
        })
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or another OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        inet(self.io.get_ref().peer_addr()?)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(self.io.get_ref().local_addr()?)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Reads `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`: `None` turns lingering off; `Some(d)` makes closing wait up to `d`
    /// for unsent data, `Some(Duration::ZERO)` resets the connection on close. The kernel
    /// counts whole seconds; a fraction rounds up.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a duration past `i32::MAX` seconds; the OS error.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.io.get_ref().set_linger(dur)
    }

    /// Reads `SO_LINGER`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.get_ref().linger()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Receives into `buf` without removing the data from the queue.
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
    /// `NotConnected`, or another OS error.
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

    /// Waits until the stream is readable (data, end of stream, or an error).
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

    /// Reads without waiting: `WouldBlock` if no data is known to be there (use after
    /// [`readable`](TcpStream::readable)).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Writes without waiting: `WouldBlock` if there is no room known (use after
    /// [`writable`](TcpStream::writable)).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Adopts a connected std stream (made non-blocking and close-on-exec here).
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_socket(Socket::from_owned(OwnedFd::from(stream))?)
    }

    /// Deregisters and returns a std stream (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(OwnedFd::from(self.io.into_inner()).into())
    }

    /// Splits the stream into owned halves that can move to different tasks; `reunite`
    /// joins them back. Dropping the write half shuts the write side down, as in tokio.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned::split_owned(self)
    }
}

impl_byte_stream!(TcpStream, &TcpStream);
impl_as_fd!(TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}
