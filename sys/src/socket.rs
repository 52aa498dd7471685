//! Sockets: creation, accept, connect, send and receive.
//!
//! Every socket is non-blocking and close-on-exec from birth (`SOCK_NONBLOCK |
//! SOCK_CLOEXEC`, `accept4`); Apple lacks those flags, so there they are set on the line
//! after creation, before the socket is handed out. No send raises `SIGPIPE`:
//! `MSG_NOSIGNAL` on every send, `SO_NOSIGPIPE` on Apple. `EINTR` is retried here, so
//! callers only ever see `WouldBlock` or a real error.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::addr::SockAddr;
use crate::fd::{cvt, owned, set_cloexec, set_nonblocking};

/// A socket's address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// `AF_INET`.
    Ipv4,
    /// `AF_INET6`.
    Ipv6,
    /// `AF_UNIX`.
    Unix,
}

impl Domain {
    /// The domain of `addr`'s family.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a family we do not create sockets for.
    pub fn of(addr: &SockAddr) -> io::Result<Domain> {
        match addr.family() {
            libc::AF_INET => Ok(Domain::Ipv4),
            libc::AF_INET6 => Ok(Domain::Ipv6),
            libc::AF_UNIX => Ok(Domain::Unix),
            family => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unsupported address family {family}"),
            )),
        }
    }

    fn as_raw(self) -> libc::c_int {
        match self {
            Domain::Ipv4 => libc::AF_INET,
            Domain::Ipv6 => libc::AF_INET6,
            Domain::Unix => libc::AF_UNIX,
        }
    }
}

/// A socket's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `SOCK_STREAM`: TCP, Unix streams.
    Stream,
    /// `SOCK_DGRAM`: UDP, Unix datagrams.
    Datagram,
}

impl Type {
    fn as_raw(self) -> libc::c_int {
        match self {
            Type::Stream => libc::SOCK_STREAM,
            Type::Datagram => libc::SOCK_DGRAM,
        }
    }
}

/// An owned, non-blocking, close-on-exec socket.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// Creates a socket, non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// The OS error from `socket` (e.g. `EMFILE`, `EAFNOSUPPORT`).
    pub fn new(domain: Domain, ty: Type) -> io::Result<Socket> {
        birth::socket(domain.as_raw(), ty.as_raw())
    }

    /// A connected pair of Unix sockets, non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// The OS error from `socketpair`.
    pub fn pair(ty: Type) -> io::Result<(Socket, Socket)> {
        birth::socketpair(ty.as_raw())
    }

    /// Adopts a socket created elsewhere (e.g. a std socket), making it non-blocking and
    /// close-on-exec.
    ///
    /// # Errors
    ///
    /// The OS error from `fcntl`; `fd` is closed in that case.
    pub fn from_owned(fd: OwnedFd) -> io::Result<Socket> {
        set_nonblocking(fd.as_fd(), true)?;
        set_cloexec(fd.as_fd())?;
        Ok(Socket { fd })
    }

    /// Gives up the descriptor (still non-blocking).
    pub fn into_owned(self) -> OwnedFd {
        self.fd
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// The OS error from `bind`, e.g. `AddrInUse`.
    pub fn bind(&self, addr: &SockAddr) -> io::Result<()> {
        let (ptr, len) = addr.as_raw();
        // SAFETY: `ptr` is valid for `len` bytes of a sockaddr.
        cvt(unsafe { libc::bind(self.raw(), ptr, len) })?;
        Ok(())
    }

    /// Starts listening with the given backlog.
    ///
    /// # Errors
    ///
    /// The OS error from `listen`.
    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        // SAFETY: plain syscall on our live socket.
        cvt(unsafe { libc::listen(self.raw(), backlog) })?;
        Ok(())
    }

    /// Starts connecting to `addr`. Returns `Ok(true)` if the connection is established,
    /// `Ok(false)` if it is in progress: wait for writability, then check
    /// [`take_error`](Socket::take_error).
    ///
    /// # Errors
    ///
    /// The OS error from `connect`, e.g. `ConnectionRefused` (Unix sockets fail at once).
    pub fn connect(&self, addr: &SockAddr) -> io::Result<bool> {
        let (ptr, len) = addr.as_raw();
        // SAFETY: `ptr` is valid for `len` bytes of a sockaddr.
        match cvt(unsafe { libc::connect(self.raw(), ptr, len) }) {
            Ok(_) => Ok(true),
            // EINTR on a non-blocking connect: it goes on in the background, like EINPROGRESS.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Accepts a connection: the new socket is non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when no connection is pending; other OS errors unchanged (`EMFILE`,
    /// `ECONNABORTED`, ...).
    pub fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        retry(|| birth::accept(self.raw()))
    }

    /// Sends `buf` on a connected socket, never raising `SIGPIPE`.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, `BrokenPipe`, `ConnectionReset`, ... unchanged.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        retry(|| {
            // SAFETY: `buf` is valid for `buf.len()` bytes of reads.
            let n = unsafe { libc::send(self.raw(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) };
            cvt(n).map(|n| n as usize)
        })
    }

    /// Sends several buffers in one call, never raising `SIGPIPE`.
    ///
    /// # Errors
    ///
    /// As [`send`](Socket::send).
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // SAFETY: msghdr is plain old data; all-zero means no name and no control data.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec; // IoSlice is ABI-compatible with iovec
        msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
        retry(|| {
            // SAFETY: `msg` points at `msg_iovlen` live iovecs borrowed from `bufs`.
            let n = unsafe { libc::sendmsg(self.raw(), &msg, SEND_FLAGS) };
            cvt(n).map(|n| n as usize)
        })
    }

    /// Sends a datagram to `addr`, never raising `SIGPIPE`.
    ///
    /// # Errors
    ///
    /// `WouldBlock`; an oversize datagram is the OS's `EMSGSIZE`.
    pub fn send_to(&self, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
        let (ptr, len) = addr.as_raw();
        retry(|| {
            // SAFETY: `buf` is valid for its length; `ptr` for `len` bytes of a sockaddr.
            let n = unsafe {
                libc::sendto(
                    self.raw(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    SEND_FLAGS,
                    ptr,
                    len,
                )
            };
            cvt(n).map(|n| n as usize)
        })
    }

    /// Receives into `buf`; `Ok(0)` is end of stream (or an empty datagram).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, `ConnectionReset`, ... unchanged.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_flags(buf, 0)
    }

    /// Like [`recv`](Socket::recv) but leaves the data queued.
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_flags(buf, libc::MSG_PEEK)
    }

    fn recv_flags(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        retry(|| {
            // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
            let n = unsafe { libc::recv(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags) };
            cvt(n).map(|n| n as usize)
        })
    }

    /// Receives a datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// `WouldBlock` and OS errors unchanged.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
        self.recv_from_flags(buf, 0)
    }

    /// Like [`recv_from`](Socket::recv_from) but leaves the datagram queued.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Socket::recv_from).
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
        self.recv_from_flags(buf, libc::MSG_PEEK)
    }

    fn recv_from_flags(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, SockAddr)> {
        retry(|| {
            let mut from = SockAddr::empty();
            let (ptr, len) = from.as_raw_mut();
            // SAFETY: `buf` is valid for its length; `ptr`/`len` describe `from`'s storage.
            let n = unsafe {
                libc::recvfrom(
                    self.raw(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                    ptr,
                    len,
                )
            };
            cvt(n).map(|n| (n as usize, from))
        })
    }

    /// Shuts down one or both directions.
    ///
    /// # Errors
    ///
    /// The OS error from `shutdown`, e.g. `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: plain syscall on our live socket.
        cvt(unsafe { libc::shutdown(self.raw(), how) })?;
        Ok(())
    }

    /// The address this socket is bound to.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockname`.
    pub fn local_addr(&self) -> io::Result<SockAddr> {
        let mut addr = SockAddr::empty();
        let (ptr, len) = addr.as_raw_mut();
        // SAFETY: `ptr`/`len` describe `addr`'s storage.
        cvt(unsafe { libc::getsockname(self.raw(), ptr, len) })?;
        Ok(addr)
    }

    /// The address of the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` and other OS errors from `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SockAddr> {
        let mut addr = SockAddr::empty();
        let (ptr, len) = addr.as_raw_mut();
        // SAFETY: `ptr`/`len` describe `addr`'s storage.
        cvt(unsafe { libc::getpeername(self.raw(), ptr, len) })?;
        Ok(addr)
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Whether `e` says the process or the system ran out of descriptors or memory
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): conditions where retrying at once would spin.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Most iovecs one [`Socket::send_vectored`] passes to `sendmsg` (POSIX's minimum
/// `IOV_MAX`); extra buffers wait for the next call, as a short write.
pub const MAX_IOV: usize = 1024;

/// Retries `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl IntoRawFd for Socket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<Socket> for OwnedFd {
    fn from(socket: Socket) -> OwnedFd {
        socket.fd
    }
}

impl FromRawFd for Socket {
    /// # Safety
    ///
    /// `fd` must be an open socket that nothing else owns; it must already be non-blocking
    /// (use [`Socket::from_owned`] otherwise).
    unsafe fn from_raw_fd(fd: RawFd) -> Socket {
        // SAFETY: the caller passes ownership of an open socket.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Socket { fd }
    }
}

#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0; // SO_NOSIGPIPE is set at birth instead
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// Creation with the flags set atomically.
#[cfg(not(target_vendor = "apple"))]
mod birth {
    use super::*;

    const FLAGS: libc::c_int = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;

    pub(super) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<Socket> {
        // SAFETY: plain syscall; a returned descriptor is owned on this line.
        let fd = owned(cvt(unsafe { libc::socket(domain, ty | FLAGS, 0) })?);
        Ok(Socket { fd })
    }

    pub(super) fn socketpair(ty: libc::c_int) -> io::Result<(Socket, Socket)> {
        let mut fds = [-1; 2];
        // SAFETY: `fds` is valid for two descriptors; both are owned on the next line.
        cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty | FLAGS, 0, fds.as_mut_ptr()) })?;
        let (a, b) = (owned(fds[0]), owned(fds[1]));
        Ok((Socket { fd: a }, Socket { fd: b }))
    }

    pub(super) fn accept(listener: RawFd) -> io::Result<(Socket, SockAddr)> {
        let mut addr = SockAddr::empty();
        let (ptr, len) = addr.as_raw_mut();
        // SAFETY: `ptr`/`len` describe `addr`'s storage; the descriptor is owned on this line.
        let fd = owned(cvt(unsafe { libc::accept4(listener, ptr, len, FLAGS) })?);
        Ok((Socket { fd }, addr))
    }
}

/// Creation, then the flags and `SO_NOSIGPIPE` before the socket is handed out.
#[cfg(target_vendor = "apple")]
mod birth {
    use super::*;

    fn finish(fd: OwnedFd) -> io::Result<Socket> {
        set_cloexec(fd.as_fd())?;
        set_nonblocking(fd.as_fd(), true)?;
        let socket = Socket { fd };
        socket.set_nosigpipe(true)?;
        Ok(socket)
    }

    pub(super) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<Socket> {
        // SAFETY: plain syscall; a returned descriptor is owned on this line.
        finish(owned(cvt(unsafe { libc::socket(domain, ty, 0) })?))
    }

    pub(super) fn socketpair(ty: libc::c_int) -> io::Result<(Socket, Socket)> {
        let mut fds = [-1; 2];
        // SAFETY: `fds` is valid for two descriptors; both are owned on the next line.
        cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
        let (a, b) = (owned(fds[0]), owned(fds[1]));
        Ok((finish(a)?, finish(b)?))
    }

    pub(super) fn accept(listener: RawFd) -> io::Result<(Socket, SockAddr)> {
        let mut addr = SockAddr::empty();
        let (ptr, len) = addr.as_raw_mut();
        // SAFETY: `ptr`/`len` describe `addr`'s storage; the descriptor is owned on this line.
        let fd = owned(cvt(unsafe { libc::accept(listener, ptr, len) })?);
        Ok((finish(fd)?, addr))
    }
}
