//! Raw sockets made with `libc` alone, never through the code under test: what an
//! intruder process (or a misbehaving neighbour) would do, with whichever socket options
//! it likes set before `bind`.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};

/// A socket of type `ty` (`libc::SOCK_STREAM`, `libc::SOCK_DGRAM`) in `addr`'s family,
/// close-on-exec, with each `SOL_SOCKET` option in `options` set to 1, bound to `addr`;
/// on failure the errno of the step that failed.
pub fn bind_with_options(
    ty: libc::c_int,
    addr: SocketAddr,
    options: &[libc::c_int],
) -> Result<OwnedFd, i32> {
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(-1);
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // Apple has no `SOCK_CLOEXEC`: the flag follows at once (these tests run on Linux).
    #[cfg(not(target_vendor = "apple"))]
    let ty = ty | libc::SOCK_CLOEXEC;
    // SAFETY: socket takes no pointers.
    let raw = unsafe { libc::socket(family, ty, 0) };
    if raw < 0 {
        return Err(errno());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: fcntl takes no pointers; `raw` is open (owned by `fd`).
    #[cfg(target_vendor = "apple")]
    if unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(errno());
    }
    let one: libc::c_int = 1;
    for &option in options {
        let len = std::mem::size_of_val(&one) as libc::socklen_t;
        // SAFETY: `one` is valid for `len` bytes of reads; `raw` is open (owned by `fd`).
        let rc = unsafe {
            libc::setsockopt(raw, libc::SOL_SOCKET, option, (&raw const one).cast(), len)
        };
        if rc != 0 {
            return Err(errno());
        }
    }
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `addr`'s family for `len` bytes; `raw`
    // is open.
    if unsafe { libc::bind(raw, (&raw const storage).cast(), len) } != 0 {
        return Err(errno());
    }
    Ok(fd)
}

/// `addr` as the kernel takes it.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data, valid all zeros.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_in is plain data, valid all zeros (the BSDs add a length
            // field and Linux does not, so the fields are set one by one).
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
            {
                sin.sin_len = std::mem::size_of::<libc::sockaddr_in>() as u8;
            }
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_in6 is plain data, valid all zeros.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
            {
                sin6.sin6_len = std::mem::size_of::<libc::sockaddr_in6>() as u8;
            }
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
