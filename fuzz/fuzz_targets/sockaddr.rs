//! Socket address encoding in `sys`: arbitrary bytes decode into an IPv4 or IPv6
//! address, a Unix path or an abstract name, encoded into a `sockaddr_storage` and
//! decoded back, which must give the same address (or, for a path or name the kernel
//! cannot take, exactly the `InvalidInput` error the rules predict); and arbitrary bytes
//! with an arbitrary length, taken as what the kernel filled in, must decode without a
//! panic into an address that encodes back to itself.
#![no_main]

use std::ffi::OsStr;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use sys::{SockAddr, UnixAddr};

/// `sun_path`'s size.
const SUN_PATH: usize = 108;
/// Where `sun_path` starts in `sockaddr_un`.
const SUN_PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let n = bytes.len().min(N);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

fn inet_round_trip(bytes: &[u8]) {
    let v4 = SocketAddrV4::new(
        Ipv4Addr::from(array::<4>(bytes)),
        u16::from_le_bytes(array(bytes.get(4..).unwrap_or_default())),
    );
    let rest = bytes.get(6..).unwrap_or_default();
    let v6 = SocketAddrV6::new(
        Ipv6Addr::from(array::<16>(rest)),
        u16::from_le_bytes(array(rest.get(16..).unwrap_or_default())),
        u32::from_le_bytes(array(rest.get(18..).unwrap_or_default())),
        u32::from_le_bytes(array(rest.get(22..).unwrap_or_default())),
    );
    for (addr, family, len) in [
        (
            SocketAddr::V4(v4),
            libc::AF_INET,
            mem::size_of::<libc::sockaddr_in>(),
        ),
        (
            SocketAddr::V6(v6),
            libc::AF_INET6,
            mem::size_of::<libc::sockaddr_in6>(),
        ),
    ] {
        let enc = SockAddr::from_inet(addr);
        assert_eq!(enc.family(), family);
        assert_eq!(enc.len(), len);
        assert_eq!(enc.as_inet(), Some(addr));
        assert_eq!(enc.as_unix(), None);
        assert_eq!(format!("{enc:?}"), format!("{addr:?}"));
    }
}

fn unix_round_trip(bytes: &[u8]) {
    let result = SockAddr::unix(OsStr::from_bytes(bytes));
    let expected = match bytes.split_first() {
        None => None,
        Some((0, name)) if name.len() < SUN_PATH => Some((
            UnixAddr::Abstract(name.to_vec()),
            SUN_PATH_OFFSET + bytes.len(),
        )),
        Some((0, _)) => None,
        Some(_) if bytes.contains(&0) || bytes.len() >= SUN_PATH => None,
        Some(_) => Some((
            UnixAddr::Pathname(OsStr::from_bytes(bytes).into()),
            SUN_PATH_OFFSET + bytes.len() + 1,
        )),
    };
    match (result, expected) {
        (Ok(enc), Some((addr, len))) => {
            assert_eq!(enc.family(), libc::AF_UNIX);
            assert_eq!(enc.len(), len, "encoded length");
            assert_eq!(enc.as_unix(), Some(addr));
            assert_eq!(enc.as_inet(), None);
        }
        (Err(e), None) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}"),
        (result, expected) => panic!("{bytes:?}: got {result:?}, expected {expected:?}"),
    }
    // The name without its leading NUL, through the abstract constructor.
    match SockAddr::unix_abstract(bytes) {
        Ok(enc) => {
            assert!(bytes.len() < SUN_PATH);
            assert_eq!(enc.as_unix(), Some(UnixAddr::Abstract(bytes.to_vec())));
        }
        Err(e) => {
            assert!(bytes.len() >= SUN_PATH);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        }
    }
}

/// `bytes` as a `sockaddr_storage` the kernel filled, with a length from the input.
fn decode_kernel_bytes(bytes: &[u8]) {
    let (len, storage) = match bytes.split_first_chunk::<4>() {
        Some((len, rest)) => (u32::from_le_bytes(*len), rest),
        None => return,
    };
    // Mostly lengths within the storage, sometimes anything.
    let len = if len & 0x8000_0000 == 0 {
        len % 130
    } else {
        len
    };
    let addr = SockAddr::__from_kernel(storage, len);
    let _ = format!("{addr:?}");
    let _ = (addr.family(), addr.len(), addr.is_empty());
    if let Some(inet) = addr.as_inet() {
        assert_eq!(SockAddr::from_inet(inet).as_inet(), Some(inet));
        assert_eq!(addr.as_unix(), None);
    }
    match addr.as_unix() {
        None | Some(UnixAddr::Unnamed) => {}
        Some(UnixAddr::Pathname(path)) => {
            let bytes = path.as_os_str().as_bytes();
            assert!(!bytes.is_empty() && !bytes.contains(&0) && bytes.len() <= SUN_PATH);
            // A full 108-byte path without a terminator is what Linux may report; it
            // cannot be encoded back with the terminator we always add.
            match SockAddr::unix(&path) {
                Ok(enc) => assert_eq!(enc.as_unix(), Some(UnixAddr::Pathname(path))),
                Err(e) => {
                    assert_eq!(bytes.len(), SUN_PATH);
                    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
                }
            }
        }
        Some(UnixAddr::Abstract(name)) => {
            let enc = SockAddr::unix_abstract(&name).expect("a decoded name re-encodes");
            assert_eq!(enc.as_unix(), Some(UnixAddr::Abstract(name)));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => inet_round_trip(bytes),
        1 => unix_round_trip(bytes),
        _ => decode_kernel_bytes(bytes),
    }
});
