//! Byte-stream helpers for the edge, no-loss and cancel-safety suites (`hostile_edges.rs`,
//! `hostile_no_loss.rs`, `hostile_cancel_safety.rs`): a streaming FNV-1a hash, the three
//! stream transports (a TCP connection, a Unix listener's connection, a socketpair) each
//! with our runtime's end and a blocking std end for a foreign writer thread, a
//! progress-gap meter, and [`long_rt_test!`](crate::long_rt_test), `rt_test!` with a hang
//! limit of the case's own (full-size soaks run longer than
//! [`HANG_LIMIT`](crate::rt::HANG_LIMIT)).

use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::io::AsyncRead;

use crate::net::TempDir;

/// Like [`rt_test!`](crate::rt_test), for the `fn name(flavor)` form only, with the hang
/// limit given first: `long_rt_test! { limit = EXPR; fn name(flavor) { .. } .. }`.
#[macro_export]
macro_rules! long_rt_test {
    (limit = $limit:expr;) => {};
    (limit = $limit:expr; $(#[$attr:meta])* fn $name:ident($flavor:ident) $body:block $($rest:tt)*) => {
        mod $name {
            #[allow(unused_imports, reason = "cases use what their file imports")]
            use super::*;

            $(#[$attr])*
            #[test]
            fn current_thread() {
                let $flavor = $crate::rt::Flavor::CurrentThread;
                $crate::rt::with_hang_guard_for($limit, move || $body);
            }

            $(#[$attr])*
            #[test]
            fn multi_thread() {
                let $flavor = $crate::rt::Flavor::MultiThread;
                $crate::rt::with_hang_guard_for($limit, move || $body);
            }
        }
        $crate::long_rt_test! { limit = $limit; $($rest)* }
    };
}

/// A 64-bit FNV-1a hash, fed a byte or a slice at a time: what a reader that sees one byte
/// per read can keep up with.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// The hash of nothing.
    pub fn new() -> Fnv {
        Fnv::default()
    }

    /// Feeds one byte.
    pub fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }

    /// Feeds `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// The hash so far.
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The FNV-1a hash of `bytes`.
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = Fnv::new();
    hash.bytes(bytes);
    hash.finish()
}

/// A byte-stream transport between our runtime and a foreign thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A loopback TCP connection accepted by a `net::TcpListener` (Nagle off on the
    /// writer, so 1-byte writes go out at once).
    Tcp,
    /// A connection accepted by a `net::UnixListener` in a temporary directory.
    Unix,
    /// `net::UnixStream::pair()`, one end handed to std.
    Pair,
}

/// Our runtime's end of a [`Transport`]: reads through `AsyncRead` or through
/// `readable` + `try_read`.
#[derive(Debug)]
pub enum RuntimeEnd {
    /// A TCP connection.
    Tcp(::net::TcpStream),
    /// A Unix stream, accepted or one end of a pair.
    Unix(::net::UnixStream),
}

impl RuntimeEnd {
    /// Waits until the stream is readable.
    ///
    /// # Errors
    ///
    /// An error if the runtime has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            RuntimeEnd::Tcp(s) => s.readable().await,
            RuntimeEnd::Unix(s) => s.readable().await,
        }
    }

    /// One `recv` if the stream is known to be readable, else `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the OS error.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            RuntimeEnd::Tcp(s) => s.try_read(buf),
            RuntimeEnd::Unix(s) => s.try_read(buf),
        }
    }
}

impl RuntimeEnd {
    /// The descriptor, out of the runtime (deregistered) and still non-blocking, to wrap
    /// in an `AsyncFd` of the caller's.
    ///
    /// # Errors
    ///
    /// Whatever deregistering returns.
    pub fn into_fd(self) -> io::Result<OwnedFd> {
        Ok(match self {
            RuntimeEnd::Tcp(s) => s.into_std()?.into(),
            RuntimeEnd::Unix(s) => s.into_std()?.into(),
        })
    }
}

impl AsyncRead for RuntimeEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            RuntimeEnd::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            RuntimeEnd::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

/// The std end of a [`Transport`], blocking, for a foreign writer thread.
pub type StdEnd = Box<dyn Write + Send>;

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Unix, Transport::Pair];

    /// A connected `(runtime end, std end)`; Unix socket paths go in `dir`. Call inside a
    /// runtime. The connects are blocking std calls, which a loopback or Unix listener
    /// completes in the kernel before its `accept`.
    ///
    /// # Errors
    ///
    /// Whatever binding, connecting or accepting returns.
    pub async fn connect(self, dir: &TempDir) -> io::Result<(RuntimeEnd, StdEnd)> {
        match self {
            Transport::Tcp => {
                let listener = ::net::TcpListener::bind("127.0.0.1:0").await?;
                let std_end = std::net::TcpStream::connect(listener.local_addr()?)?;
                std_end.set_nodelay(true)?;
                let (ours, _) = listener.accept().await?;
                Ok((RuntimeEnd::Tcp(ours), Box::new(std_end)))
            }
            Transport::Unix => {
                let path = dir.join(format!("s{}", unique()));
                let listener = ::net::UnixListener::bind(&path)?;
                let std_end = std::os::unix::net::UnixStream::connect(&path)?;
                let (ours, _) = listener.accept().await?;
                Ok((RuntimeEnd::Unix(ours), Box::new(std_end)))
            }
            Transport::Pair => {
                let (ours, theirs) = ::net::UnixStream::pair()?;
                let std_end = theirs.into_std()?;
                std_end.set_nonblocking(false)?;
                Ok((RuntimeEnd::Unix(ours), Box::new(std_end)))
            }
        }
    }
}

/// A process-wide counter, for unique socket names.
fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The longest wait between two progress events (a byte read, a message seen).
#[derive(Clone, Copy, Debug)]
pub struct Gaps {
    last: Instant,
    max: Duration,
}

impl Default for Gaps {
    fn default() -> Gaps {
        Gaps::new()
    }
}

impl Gaps {
    /// Starts measuring now.
    pub fn new() -> Gaps {
        Gaps {
            last: Instant::now(),
            max: Duration::ZERO,
        }
    }

    /// Records a progress event now.
    pub fn progress(&mut self) {
        let now = Instant::now();
        self.max = self.max.max(now - self.last);
        self.last = now;
    }

    /// The longest gap so far.
    pub fn max(&self) -> Duration {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the hash is FNV-1a 64 (its published test vectors) and that feeding byte by
    // byte and by slice agree.
    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv::new();
        b"foobar".iter().for_each(|&b| h.byte(b));
        assert_eq!(h.finish(), fnv(b"foobar"));
    }
}
