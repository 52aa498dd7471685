//! `UdpSocket`, with multicast.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};

use runtime::io::{AsyncFd, Interest, Ready};
use sys::{Role, Socket, Type};

use crate::addr::{ToSocketAddrs, each_addr, first_addr};
use crate::stream::{domain, impl_as_fd, inet};

/// A UDP socket. Any number of tasks may `send` and `recv` on one shared socket.
///
/// A unicast or wildcard `bind` sets no reuse option, so a second bind of the same port
/// fails with `AddrInUse`. Binding to a multicast group address, or
/// [`bind_multicast_v4`](UdpSocket::bind_multicast_v4) / `_v6`, sets `SO_REUSEADDR` and
/// `SO_REUSEPORT` so several receivers on one host share the group's port.
///
/// # Examples
///
/// ```no_run
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// let socket = net::UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"ping", "127.0.0.1:9000").await?;
/// let mut buf = [0; 1500];
/// let (n, from) = socket.recv_from(&mut buf).await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: AsyncFd<Socket>,
}

impl UdpSocket {
    /// Binds to `addr` (each resolved address is tried in order).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address or an empty list; `AddrInUse`; an error
    /// outside a runtime; other OS errors unchanged.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |addr| async move {
            let role = match addr.ip().is_multicast() {
                true => Role::MulticastReceiver,
                false => Role::Other,
            };
            UdpSocket::bind_with_role(addr, role)
        })
        .await
    }

    fn bind_with_role(addr: SocketAddr, role: Role) -> io::Result<UdpSocket> {
        let socket = Socket::new(domain(&addr), Type::Datagram)?;
        socket.apply_reuse_policy(role)?;
        socket.bind(&addr.into())?;
        UdpSocket::from_socket(socket)
    }

    fn from_socket(socket: Socket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: AsyncFd::new(socket)?,
        })
    }

    /// A multicast receiver: binds `group:port` with `SO_REUSEADDR` and `SO_REUSEPORT`
    /// (so other receivers on this host can bind it too) and joins `group` on the
    /// interface with address `interface` (`Ipv4Addr::UNSPECIFIED`: chosen by route).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address; the OS error from bind or
    /// join (e.g. `ENODEV` when no interface routes multicast).
    pub fn bind_multicast_v4(
        group: Ipv4Addr,
        port: u16,
        interface: Ipv4Addr,
    ) -> io::Result<UdpSocket> {
        if !group.is_multicast() {
            return Err(not_multicast(group.into()));
        }
        let addr = SocketAddr::V4(SocketAddrV4::new(group, port));
        let socket = UdpSocket::bind_with_role(addr, Role::MulticastReceiver)?;
        socket.join_multicast_v4(group, interface)?;
        Ok(socket)
    }

    /// The IPv6 form of [`bind_multicast_v4`](UdpSocket::bind_multicast_v4); `interface`
    /// is an interface index (0: chosen by route).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address; the OS error.
    pub fn bind_multicast_v6(group: Ipv6Addr, port: u16, interface: u32) -> io::Result<UdpSocket> {
        if !group.is_multicast() {
            return Err(not_multicast(group.into()));
        }
        let addr = SocketAddr::V6(SocketAddrV6::new(group, port, 0, interface));
        let socket = UdpSocket::bind_with_role(addr, Role::MulticastReceiver)?;
        socket.join_multicast_v6(&group, interface)?;
        Ok(socket)
    }

    /// Connects to `addr`: `send`/`recv` then talk to that peer only.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address; the OS error.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let socket = self.io.get_ref();
        each_addr(addr, |addr| async move {
            socket.connect(&addr.into()).map(drop)
        })
        .await
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected`; an oversize datagram is the OS's `EMSGSIZE`.
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.io.write_with(|s| s.send(buf))
    }

    /// Receives a datagram from the connected peer. A datagram longer than `buf` is
    /// truncated to it, as with any UDP receive; size `buf` for the largest datagram.
    ///
    /// # Errors
    ///
    /// OS errors unchanged (`ConnectionRefused` after an ICMP port unreachable).
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.io.read_with(|s| s.recv(buf))
    }

    /// Sends a datagram to `target` (the first resolved address).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address; an oversize datagram is `EMSGSIZE`.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = first_addr(target).await?.into();
        self.io.write_with(|s| s.send_to(buf, &target)).await
    }

    /// Receives a datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// OS errors unchanged.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.read_with(|s| s.recv_from(buf)).await?;
        Ok((n, inet(from)?))
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued.
    ///
    /// # Errors
    ///
    /// OS errors unchanged.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.read_with(|s| s.peek_from(buf)).await?;
        Ok((n, inet(from)?))
    }

    /// Sends without waiting: `WouldBlock` if there is no room known.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io
            .try_io(Interest::WRITABLE, |s| s.send_to(buf, &target.into()))
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

    /// Receives from the connected peer without waiting: `WouldBlock` if no datagram is
    /// known to be queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Receives without waiting: `WouldBlock` if no datagram is known to be queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors unchanged.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.try_io(Interest::READABLE, |s| s.recv_from(buf))?;
        Ok((n, inet(from)?))
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

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(self.io.get_ref().local_addr()?)
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
        inet(self.io.get_ref().peer_addr()?)
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Reads `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Joins an IPv4 multicast group on the interface with address `interface`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not multicast; the OS error.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        if !group.is_multicast() {
            return Err(not_multicast(group.into()));
        }
        self.io.get_ref().join_multicast_v4(group, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error (`EADDRNOTAVAIL` if not joined).
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(group, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not multicast; the OS error.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        if !group.is_multicast() {
            return Err(not_multicast((*group).into()));
        }
        self.io.get_ref().join_multicast_v6(*group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(*group, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Reads `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Reads `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the OS error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Reads `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_IF`: the interface (by address) multicast sends leave from.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_if_v4(&self, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().set_multicast_if_v4(interface)
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

    /// Adopts a std socket (made non-blocking and close-on-exec here).
    ///
    /// # Errors
    ///
    /// An error outside a runtime, or the OS error.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_socket(Socket::from_owned(OwnedFd::from(socket))?)
    }

    /// Deregisters and returns a std socket (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept fallible like tokio's.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(OwnedFd::from(self.io.into_inner()).into())
    }
}

fn not_multicast(addr: IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{addr} is not a multicast group address"),
    )
}

impl_as_fd!(UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}
