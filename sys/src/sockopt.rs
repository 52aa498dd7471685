//! Socket options: typed get/set helpers, and the reuse table applied by socket role.
//!
//! [`Socket::apply_reuse_policy`] is the one place `SO_REUSEADDR` and `SO_REUSEPORT` are
//! turned on for a role (DESIGN.md's table):
//!
//! | role | `SO_REUSEADDR` | `SO_REUSEPORT` |
//! |---|---|---|
//! | [`Role::TcpListener`] | on | off |
//! | [`Role::TcpListenerReusePort`] (explicit sharding opt-in) | on | on |
//! | [`Role::UnixListener`] | on | off |
//! | [`Role::MulticastReceiver`] | on | on |
//! | [`Role::Other`]: UDP unicast/wildcard, connected UDP, streams, Unix datagrams | off | off |
//!
//! `SO_REUSEPORT` is never on by default for a TCP listener: on Linux it would let another
//! process of the same user bind the same port and take a share of its connections.
//!
//! An accepted TCP socket has no role of its own: the kernel copies its listener's options
//! into it. That is what a restarted server needs: Linux lets a new listener bind over
//! connections in TIME_WAIT only if those sockets carry `SO_REUSEADDR` too.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::fd::cvt;
use crate::socket::Socket;

/// What a socket is for; decides its reuse options (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A TCP listener: `SO_REUSEADDR` on, so a restarted server can rebind at once.
    TcpListener,
    /// A TCP listener that asked to share its port (per-core accept sharding).
    TcpListenerReusePort,
    /// A Unix stream listener.
    UnixListener,
    /// A UDP socket bound to a multicast group, so several receivers share the port.
    MulticastReceiver,
    /// Everything else: no reuse option is ever set.
    Other,
}

impl Role {
    /// `(SO_REUSEADDR, SO_REUSEPORT)` for this role: the table in one place.
    pub const fn reuse_options(self) -> (bool, bool) {
        match self {
            Role::TcpListener | Role::UnixListener => (true, false),
            Role::TcpListenerReusePort | Role::MulticastReceiver => (true, true),
            Role::Other => (false, false),
        }
    }
}

/// The credentials of a Unix socket's peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
    /// The peer's process id, where the OS reports it (Linux, Android).
    pub pid: Option<i32>,
}

impl PeerCred {
    /// The peer's effective user id (tokio's `UCred::uid`).
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The peer's effective group id (tokio's `UCred::gid`).
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The peer's process id, where the OS reports it (tokio's `UCred::pid`).
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }
}

// IP_MULTICAST_LOOP and IP_MULTICAST_TTL take a byte on NetBSD and OpenBSD.
#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
type McastV4 = u8;
#[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
type McastV4 = libc::c_int;

#[cfg(any(target_os = "linux", target_os = "android"))]
use libc::{IPV6_ADD_MEMBERSHIP as IPV6_JOIN, IPV6_DROP_MEMBERSHIP as IPV6_LEAVE};
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use libc::{IPV6_JOIN_GROUP as IPV6_JOIN, IPV6_LEAVE_GROUP as IPV6_LEAVE};

// Linux (only) delivers a group's datagrams to every socket bound to the port while *any*
// socket on the host is a member, unless `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` is
// off on the receiving socket. Joining turns it off, so a socket receives exactly the
// groups it joined, as on the BSDs, and stops receiving a group it left.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MULTICAST_ALL: Option<(libc::c_int, libc::c_int)> =
    Some((libc::IP_MULTICAST_ALL, libc::IPV6_MULTICAST_ALL));
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MULTICAST_ALL: Option<(libc::c_int, libc::c_int)> = None;

// Apple's `SO_LINGER` counts clock ticks; `SO_LINGER_SEC` is the one in seconds.
#[cfg(target_vendor = "apple")]
const SO_LINGER_SECONDS: libc::c_int = libc::SO_LINGER_SEC;
#[cfg(not(target_vendor = "apple"))]
const SO_LINGER_SECONDS: libc::c_int = libc::SO_LINGER;

impl Socket {
    /// Applies the reuse options of `role` (see the module table). Call before `bind`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn apply_reuse_policy(&self, role: Role) -> io::Result<()> {
        let (reuseaddr, reuseport) = role.reuse_options();
        if reuseaddr {
            self.set_reuseaddr(true)?;
        }
        if reuseport {
            self.set_reuseport(true)?;
        }
        Ok(())
    }

    /// Sets `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::SOL_SOCKET, libc::SO_REUSEADDR, on)
    }

    /// Reads `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_REUSEADDR)
    }

    /// Sets `SO_REUSEPORT`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::SOL_SOCKET, libc::SO_REUSEPORT, on)
    }

    /// Reads `SO_REUSEPORT`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::IPPROTO_TCP, libc::TCP_NODELAY, on)
    }

    /// Reads `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::SOL_SOCKET, libc::SO_KEEPALIVE, on)
    }

    /// Reads `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_KEEPALIVE)
    }

    /// Sets `SO_LINGER`: `None` turns lingering off; `Some(d)` makes `close` wait up to `d`
    /// for unsent data (`Some(ZERO)`: reset the connection at once). The kernel counts whole
    /// seconds, so a fraction rounds up: a non-zero linger never becomes the reset.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a duration past `i32::MAX` seconds; the OS error from
    /// `setsockopt`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: libc::c_int::from(linger.is_some()),
            l_linger: linger.map_or(Ok(0), linger_seconds)?,
        };
        self.set(libc::SOL_SOCKET, SO_LINGER_SECONDS, value)
    }

    /// Reads `SO_LINGER` (see [`set_linger`](Socket::set_linger)).
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let value: libc::linger = self.get(libc::SOL_SOCKET, SO_LINGER_SECONDS)?;
        Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger.max(0) as u64)))
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::SOL_SOCKET, libc::SO_BROADCAST, on)
    }

    /// Reads `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_BROADCAST)
    }

    /// Sets `IPV6_V6ONLY`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on)
    }

    /// Sets the IPv4 `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the OS error from `setsockopt`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = checked_u8("TTL", ttl)?;
        self.set(libc::IPPROTO_IP, libc::IP_TTL, libc::c_int::from(ttl))
    }

    /// Reads the IPv4 `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.get::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)
            .map(|v| v as u32)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`; the OS error from `setsockopt`.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        let size = checked_int("send buffer size", size)?;
        self.set(libc::SOL_SOCKET, libc::SO_SNDBUF, size)
    }

    /// Reads `SO_SNDBUF` (Linux reports double the value set, for bookkeeping).
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.get::<libc::c_int>(libc::SOL_SOCKET, libc::SO_SNDBUF)
            .map(|v| v as usize)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`; the OS error from `setsockopt`.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        let size = checked_int("receive buffer size", size)?;
        self.set(libc::SOL_SOCKET, libc::SO_RCVBUF, size)
    }

    /// Reads `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.get::<libc::c_int>(libc::SOL_SOCKET, libc::SO_RCVBUF)
            .map(|v| v as usize)
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. the result of a non-blocking
    /// connect.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt` itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let errno = self.get::<libc::c_int>(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((errno != 0).then(|| io::Error::from_raw_os_error(errno)))
    }

    /// Sets `IP_MULTICAST_LOOP`: whether our own multicast sends loop back to us.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.set(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, McastV4::from(on))
    }

    /// Reads `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.get::<McastV4>(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)
            .map(|v| v != 0)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, on)
    }

    /// Reads `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the OS error from `setsockopt`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        let ttl = checked_u8("multicast TTL", ttl)?;
        self.set(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, McastV4::from(ttl))
    }

    /// Reads `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// The OS error from `getsockopt`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.get::<McastV4>(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)
            .map(|v| v as u32)
    }

    /// Sets `IP_MULTICAST_IF`: the interface (by address) multicast sends leave from.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn set_multicast_if_v4(&self, interface: Ipv4Addr) -> io::Result<()> {
        self.set(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, in_addr(interface))
    }

    /// Joins IPv4 multicast `group` on the interface with address `interface`
    /// (`UNSPECIFIED`: the kernel picks by route). From then on the socket receives only
    /// the groups it joined (on Linux, `IP_MULTICAST_ALL` is turned off).
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`, e.g. `ENODEV` with no multicast route.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        if let Some((all_v4, _)) = MULTICAST_ALL {
            self.set_bool(libc::IPPROTO_IP, all_v4, false)?;
        }
        self.set(
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            ip_mreq(group, interface),
        )
    }

    /// Leaves IPv4 multicast `group` on `interface`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.set(
            libc::IPPROTO_IP,
            libc::IP_DROP_MEMBERSHIP,
            ip_mreq(group, interface),
        )
    }

    /// Joins IPv6 multicast `group` on the interface with index `interface` (0: any). From
    /// then on the socket receives only the groups it joined (on Linux 4.20 and later,
    /// `IPV6_MULTICAST_ALL` is turned off).
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        if let Some((_, all_v6)) = MULTICAST_ALL {
            match self.set_bool(libc::IPPROTO_IPV6, all_v6, false) {
                // Kernels before 4.20 lack IPV6_MULTICAST_ALL and cannot filter: keep their
                // behaviour rather than fail the join.
                Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {}
                result => result?,
            }
        }
        self.set(libc::IPPROTO_IPV6, IPV6_JOIN, ipv6_mreq(group, interface))
    }

    /// Leaves IPv6 multicast `group` on interface index `interface`.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.set(libc::IPPROTO_IPV6, IPV6_LEAVE, ipv6_mreq(group, interface))
    }

    /// Sets `SO_NOSIGPIPE` (Apple): writes to a closed peer fail with `EPIPE` instead of
    /// raising `SIGPIPE`. Set on every socket at birth.
    ///
    /// # Errors
    ///
    /// The OS error from `setsockopt`.
    #[cfg(target_vendor = "apple")]
    pub fn set_nosigpipe(&self, on: bool) -> io::Result<()> {
        self.set_bool(libc::SOL_SOCKET, libc::SO_NOSIGPIPE, on)
    }

    /// The credentials of the connected Unix peer.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotConnected` or `EINVAL` on a non-Unix socket.
    pub fn peer_cred(&self) -> io::Result<PeerCred> {
        peer_cred(self)
    }

    fn set_bool(&self, level: libc::c_int, name: libc::c_int, on: bool) -> io::Result<()> {
        self.set(level, name, libc::c_int::from(on))
    }

    fn get_bool(&self, level: libc::c_int, name: libc::c_int) -> io::Result<bool> {
        self.get::<libc::c_int>(level, name).map(|v| v != 0)
    }

    fn set<T: Copy>(&self, level: libc::c_int, name: libc::c_int, value: T) -> io::Result<()> {
        let len = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` is a live T of `len` bytes for the duration of the call.
        cvt(unsafe { libc::setsockopt(self.raw(), level, name, (&raw const value).cast(), len) })?;
        Ok(())
    }

    fn get<T: Copy + Default>(&self, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
        let mut value = T::default();
        let mut len = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` is valid for `len` bytes of writes; every option read here is a
        // plain integer or a struct of them (`linger`), so any bytes the kernel writes form a
        // valid T.
        cvt(unsafe {
            libc::getsockopt(self.raw(), level, name, (&raw mut value).cast(), &mut len)
        })?;
        Ok(value)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_cred(socket: &Socket) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is valid for `len` bytes of writes.
    cvt(unsafe {
        libc::getsockopt(
            socket.raw(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    })?;
    Ok(PeerCred {
        uid: cred.uid,
        gid: cred.gid,
        pid: Some(cred.pid),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_cred(socket: &Socket) -> io::Result<PeerCred> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: both out-pointers are valid for one write each.
    cvt(unsafe { libc::getpeereid(socket.raw(), &mut uid, &mut gid) })?;
    Ok(PeerCred {
        uid,
        gid,
        pid: None,
    })
}

fn in_addr(addr: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(addr.octets()),
    }
}

fn ip_mreq(group: Ipv4Addr, interface: Ipv4Addr) -> libc::ip_mreq {
    libc::ip_mreq {
        imr_multiaddr: in_addr(group),
        imr_interface: in_addr(interface),
    }
}

fn ipv6_mreq(group: Ipv6Addr, interface: u32) -> libc::ipv6_mreq {
    libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: interface as _,
    }
}

/// A linger time in whole seconds, a fraction rounded up.
fn linger_seconds(linger: Duration) -> io::Result<libc::c_int> {
    let secs = linger
        .as_secs()
        .saturating_add(u64::from(linger.subsec_nanos() > 0));
    libc::c_int::try_from(secs).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "linger {linger:?} is too long (at most {} s)",
                libc::c_int::MAX
            ),
        )
    })
}

fn checked_u8(what: &str, value: u32) -> io::Result<u8> {
    u8::try_from(value).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {value} is out of range (0..=255)"),
        )
    })
}

fn checked_int(what: &str, value: usize) -> io::Result<libc::c_int> {
    libc::c_int::try_from(value).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {value} is too large (at most {})", libc::c_int::MAX),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_table_matches_design() {
        assert_eq!(Role::TcpListener.reuse_options(), (true, false));
        assert_eq!(Role::TcpListenerReusePort.reuse_options(), (true, true));
        assert_eq!(Role::UnixListener.reuse_options(), (true, false));
        assert_eq!(Role::MulticastReceiver.reuse_options(), (true, true));
        assert_eq!(Role::Other.reuse_options(), (false, false));
    }

    #[test]
    fn out_of_range_option_values_are_invalid_input() {
        assert_eq!(
            checked_u8("TTL", 256).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(checked_u8("TTL", 255).unwrap(), 255);
        assert_eq!(
            checked_int("size", usize::MAX).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            linger_seconds(Duration::from_secs(u64::MAX))
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn linger_fractions_round_up_so_a_linger_never_becomes_a_reset() {
        assert_eq!(linger_seconds(Duration::ZERO).unwrap(), 0);
        assert_eq!(linger_seconds(Duration::from_millis(1)).unwrap(), 1);
        assert_eq!(linger_seconds(Duration::from_millis(1500)).unwrap(), 2);
        assert_eq!(linger_seconds(Duration::from_secs(7)).unwrap(), 7);
    }
}
