//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//!
//! Paths that do not fit `sun_path` (or hold a NUL byte) are `InvalidInput` before any
//! socket or file is created; nothing is truncated. On Linux, a path starting with a NUL
//! byte (`"\0name"`) names an abstract socket, and it round-trips exactly through
//! `local_addr`/`peer_addr`.

mod datagram;
mod listener;
mod split_owned;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::UnixStream;
pub use sys::PeerCred as UCred;

use std::fmt;
use std::path::Path;

use sys::UnixAddr;

/// The address of a Unix socket: a path, a Linux abstract name, or unnamed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SocketAddr {
    inner: UnixAddr,
}

impl SocketAddr {
    pub(crate) fn decode(addr: sys::SockAddr) -> std::io::Result<SocketAddr> {
        // A datagram from an unbound sender comes with no address at all (length 0, not
        // even a family): that sender is unnamed.
        if addr.is_empty() {
            return Ok(SocketAddr {
                inner: UnixAddr::Unnamed,
            });
        }
        let inner = addr.as_unix().ok_or_else(|| {
            std::io::Error::other(format!("expected a Unix socket address, got {addr:?}"))
        })?;
        Ok(SocketAddr { inner })
    }

    /// The filesystem path, if this is a path address.
    pub fn as_pathname(&self) -> Option<&Path> {
        match &self.inner {
            UnixAddr::Pathname(path) => Some(path),
            _ => None,
        }
    }

    /// The abstract name (without its leading NUL), if this is a Linux abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match &self.inner {
            UnixAddr::Abstract(name) => Some(name),
            _ => None,
        }
    }

    /// Whether the socket has no name (unbound, or one end of a pair).
    pub fn is_unnamed(&self) -> bool {
        self.inner == UnixAddr::Unnamed
    }
}

impl fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            UnixAddr::Unnamed => f.write_str("(unnamed)"),
            UnixAddr::Pathname(path) => write!(f, "{path:?} (pathname)"),
            UnixAddr::Abstract(name) => {
                write!(f, "{:?} (abstract)", name.escape_ascii().to_string())
            }
        }
    }
}
