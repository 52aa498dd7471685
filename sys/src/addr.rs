//! Socket addresses: encoding `SocketAddr` and Unix paths into `sockaddr_*` and back.
//!
//! A Unix path that does not fit `sun_path` with its NUL terminator, or that holds an
//! interior NUL, is `InvalidInput`: it is never truncated. On Linux and Android a path
//! whose first byte is NUL (`"\0name"`) names an abstract socket, like tokio and std.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Whether this OS has abstract Unix socket names.
const HAS_ABSTRACT_NAMES: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// A socket address of any family we use, in the kernel's encoding.
#[derive(Clone)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// A Unix socket address, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// No name: an unbound socket or one end of a socket pair.
    Unnamed,
    /// A filesystem path.
    Pathname(PathBuf),
    /// A Linux abstract name (without its leading NUL).
    Abstract(Vec<u8>),
}

impl SockAddr {
    /// An empty address buffer for the kernel to fill (`accept`, `getsockname`, ...).
    pub(crate) fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
            storage: unsafe { mem::zeroed() },
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// Encodes an IPv4 or IPv6 address (IPv6 keeps its flow info and scope id).
    pub fn from_inet(addr: SocketAddr) -> SockAddr {
        match addr {
            SocketAddr::V4(a) => Self::from_v4(a),
            SocketAddr::V6(a) => Self::from_v6(a),
        }
    }

    fn from_v4(addr: SocketAddrV4) -> SockAddr {
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
        let sin = unsafe { &mut *(&raw mut out.storage).cast::<libc::sockaddr_in>() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = addr.port().to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes(addr.ip().octets());
        out.len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        out
    }

    fn from_v6(addr: SocketAddrV6) -> SockAddr {
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in6.
        let sin6 = unsafe { &mut *(&raw mut out.storage).cast::<libc::sockaddr_in6>() };
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_port = addr.port().to_be();
        sin6.sin6_flowinfo = addr.flowinfo();
        sin6.sin6_addr.s6_addr = addr.ip().octets();
        sin6.sin6_scope_id = addr.scope_id();
        out.len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        out
    }

    /// Encodes a Unix socket path; on Linux a leading NUL byte makes it an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is empty, holds an interior NUL, or does not fit
    /// `sun_path` with its terminator; `Unsupported` for `"\0name"` where the OS has no
    /// abstract names.
    pub fn unix(path: impl AsRef<Path>) -> io::Result<SockAddr> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        match bytes.split_first() {
            None => Err(invalid("Unix socket path is empty")),
            Some((0, name)) => Self::unix_abstract(name),
            Some(_) => Self::unix_pathname(bytes),
        }
    }

    fn unix_pathname(bytes: &[u8]) -> io::Result<SockAddr> {
        if bytes.contains(&0) {
            return Err(invalid("Unix socket path contains an interior NUL byte"));
        }
        let max = sun_path_len() - 1; // room for the NUL terminator
        if bytes.len() > max {
            return Err(invalid(format!(
                "Unix socket path is {} bytes long; the limit here is {max}",
                bytes.len()
            )));
        }
        Ok(Self::unix_raw(bytes, 1))
    }

    /// Encodes a Linux abstract socket name (given without the leading NUL).
    ///
    /// # Errors
    ///
    /// `Unsupported` where the OS has no abstract names; `InvalidInput` if the name does
    /// not fit `sun_path` after the leading NUL.
    pub fn unix_abstract(name: &[u8]) -> io::Result<SockAddr> {
        if !HAS_ABSTRACT_NAMES {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "abstract Unix socket names exist only on Linux and Android",
            ));
        }
        let max = sun_path_len() - 1; // the leading NUL takes one byte
        if name.len() > max {
            return Err(invalid(format!(
                "abstract Unix socket name is {} bytes long; the limit is {max}",
                name.len()
            )));
        }
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        Ok(Self::unix_raw(&bytes, 0))
    }

    /// Copies `bytes` (known to fit) into `sun_path`, plus `terminator` NUL bytes.
    fn unix_raw(bytes: &[u8], terminator: usize) -> SockAddr {
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_un.
        let sun = unsafe { &mut *(&raw mut out.storage).cast::<libc::sockaddr_un>() };
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        out.len = (sun_path_offset() + bytes.len() + terminator) as libc::socklen_t;
        out
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...).
    pub fn family(&self) -> libc::c_int {
        libc::c_int::from(self.storage.ss_family)
    }

    /// The IPv4 or IPv6 address, if this is one.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                let v6 = SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id);
                Some(v6.into())
            }
            _ => None,
        }
    }

    /// The Unix address, if this is one.
    pub fn as_unix(&self) -> Option<UnixAddr> {
        if self.family() != libc::AF_UNIX {
            return None;
        }
        let offset = sun_path_offset();
        let len = (self.len as usize)
            .saturating_sub(offset)
            .min(sun_path_len());
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_un>() };
        let path: Vec<u8> = sun.sun_path[..len].iter().map(|&c| c as u8).collect();
        Some(match path.split_first() {
            None => UnixAddr::Unnamed,
            Some((0, name)) if HAS_ABSTRACT_NAMES => UnixAddr::Abstract(name.to_vec()),
            Some(_) => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                match end {
                    0 => UnixAddr::Unnamed,
                    _ => UnixAddr::Pathname(OsStr::from_bytes(&path[..end]).into()),
                }
            }
        })
    }

    /// An address as the kernel might fill it: up to `size_of::<sockaddr_storage>()`
    /// bytes of `bytes` copied into zeroed storage, with the length the kernel reported
    /// (which may exceed the storage). For the fuzz targets in `fuzz/` only.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn __from_kernel(bytes: &[u8], len: u32) -> SockAddr {
        let mut out = SockAddr::empty();
        let size = mem::size_of::<libc::sockaddr_storage>().min(bytes.len());
        // SAFETY: `out.storage` is valid for `size_of::<sockaddr_storage>()` bytes, at
        // least `size`, and is plain old data for which every byte pattern is valid.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (&raw mut out.storage).cast::<u8>(),
                size,
            );
        }
        out.len = len as libc::socklen_t;
        out
    }

    /// Pointer and length to pass to `bind`, `connect`, `sendto`.
    pub(crate) fn as_raw(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        ((&raw const self.storage).cast(), self.len)
    }

    /// Pointer and length slot for the kernel to fill.
    pub(crate) fn as_raw_mut(&mut self) -> (*mut libc::sockaddr, &mut libc::socklen_t) {
        ((&raw mut self.storage).cast(), &mut self.len)
    }

    /// The encoded length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the encoded address is empty (never true for one we built).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        SockAddr::from_inet(addr)
    }
}

impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(inet) = self.as_inet() {
            return fmt::Debug::fmt(&inet, f);
        }
        if let Some(unix) = self.as_unix() {
            return fmt::Debug::fmt(&unix, f);
        }
        write!(f, "SockAddr(family {})", self.family())
    }
}

/// `sun_path`'s size: 108 on Linux, 104 on the BSDs and Apple.
fn sun_path_len() -> usize {
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    sun.sun_path.len()
}

fn sun_path_offset() -> usize {
    mem::offset_of!(libc::sockaddr_un, sun_path)
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trips_with_port_in_network_order() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let enc = SockAddr::from_inet(addr);
        assert_eq!(enc.family(), libc::AF_INET);
        assert_eq!(enc.len(), mem::size_of::<libc::sockaddr_in>());
        assert_eq!(enc.as_inet(), Some(addr));
        assert_eq!(enc.as_unix(), None);
    }

    #[test]
    fn ipv6_round_trips_scope_id_and_flowinfo() {
        let addr = SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 0x12345, 7);
        let enc = SockAddr::from_inet(addr.into());
        assert_eq!(enc.family(), libc::AF_INET6);
        let SocketAddr::V6(back) = enc.as_inet().unwrap() else {
            panic!("decoded as IPv4")
        };
        assert_eq!(back, addr);
        assert_eq!(back.scope_id(), 7);
        assert_eq!(back.flowinfo(), 0x12345);
    }

    #[test]
    fn unix_path_round_trips() {
        let enc = SockAddr::unix("/tmp/some.sock").unwrap();
        assert_eq!(enc.family(), libc::AF_UNIX);
        assert_eq!(
            enc.as_unix(),
            Some(UnixAddr::Pathname("/tmp/some.sock".into()))
        );
    }

    #[test]
    fn longest_unix_path_fits_and_one_more_byte_is_invalid_input() {
        let max = sun_path_len() - 1;
        let fits = "a".repeat(max);
        let enc = SockAddr::unix(&fits).unwrap();
        assert_eq!(enc.as_unix(), Some(UnixAddr::Pathname(fits.into())));
        for len in [max + 1, max + 2, 300] {
            let err = SockAddr::unix("a".repeat(len)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{len} bytes");
            assert!(err.to_string().contains(&len.to_string()), "{err}");
        }
    }

    #[test]
    fn interior_nul_and_empty_paths_are_invalid_input() {
        let err = SockAddr::unix("/tmp/a\0b").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            SockAddr::unix("").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn abstract_names_round_trip_exactly_including_nul_bytes() {
        let enc = SockAddr::unix("\0my-name").unwrap();
        assert_eq!(enc.len(), sun_path_offset() + 8, "no terminator is added");
        assert_eq!(enc.as_unix(), Some(UnixAddr::Abstract(b"my-name".to_vec())));
        let raw = SockAddr::unix_abstract(b"a\0b").unwrap();
        assert_eq!(raw.as_unix(), Some(UnixAddr::Abstract(b"a\0b".to_vec())));
        let max = vec![b'x'; sun_path_len() - 1];
        assert!(SockAddr::unix_abstract(&max).is_ok());
        let err = SockAddr::unix_abstract(&[b'x'; 200]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_family_only_unix_address_is_unnamed() {
        let mut enc = SockAddr::unix("/x").unwrap();
        enc.len = sun_path_offset() as libc::socklen_t;
        assert_eq!(enc.as_unix(), Some(UnixAddr::Unnamed));
    }
}
