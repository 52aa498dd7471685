//! `TcpSocket`: a TCP socket configured before it binds, listens or connects. Options are
//! set only when asked.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use sys::{Domain, Socket, Type};

use super::{TcpListener, TcpStream};
use crate::stream::{domain, inet};

/// A TCP socket not yet listening or connected, for setting options first: the explicit
/// way to a reuse-port (sharded) listener.
///
/// # Examples
///
/// ```no_run
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let socket = net::TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.set_reuseport(true)?; // several listeners share the port, one per core
/// socket.bind("0.0.0.0:8080".parse().unwrap())?;
/// let listener = socket.listen(1024)?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket, with no option set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn new_v4() -> io::Result<TcpSocket> {
        Socket::new(Domain::Ipv4, Type::Stream).map(|inner| TcpSocket { inner })
    }

    /// A new IPv6 TCP socket, with no option set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Socket::new(Domain::Ipv6, Type::Stream).map(|inner| TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuseaddr(reuseaddr)
    }

    /// Reads `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuseaddr()
    }

    /// Sets `SO_REUSEPORT`: other sockets of this user may bind the same port and share
    /// its connections (per-core accept sharding). Off unless asked for.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuseport(reuseport)
    }

    /// Reads `SO_REUSEPORT`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuseport()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Reads `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_LINGER`: `None` turns lingering off; `Some(d)` makes closing wait up to `d`
    /// for unsent data, `Some(Duration::ZERO)` resets the connection on close. The kernel
    /// counts whole seconds; a fraction rounds up.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a duration past `i32::MAX` seconds; the OS error.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// Reads `SO_LINGER`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    ///
    /// The OS error from reading the option itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for sizes above `i32::MAX`; the OS error.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// Reads `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for sizes above `i32::MAX`; the OS error.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// Reads `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `addr`'s family is not the socket's; `AddrInUse`; the OS error.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.check_family(&addr)?;
        self.inner.bind(&addr.into())
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(self.inner.local_addr()?)
    }

    /// Starts listening.
    ///
    /// # Errors
    ///
    /// The OS error, or an error outside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_socket(self.inner)
    }

    /// Connects to `addr`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `addr`'s family is not the socket's; `ConnectionRefused`; the OS
    /// error; an error outside a runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        self.check_family(&addr)?;
        TcpStream::connect_socket(self.inner, addr).await
    }

    fn check_family(&self, addr: &SocketAddr) -> io::Result<()> {
        let ours = sys::Domain::of(&self.inner.local_addr()?)?;
        if ours != domain(addr) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("address {addr} does not match the socket's family ({ours:?})"),
            ));
        }
        Ok(())
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
