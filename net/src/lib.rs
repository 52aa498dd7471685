//! TCP, UDP (with multicast) and Unix-domain sockets for the runtime.
//!
//! Built only on [`runtime::io::AsyncFd`] and the `sys` socket functions, as any
//! third-party crate could be. Every socket is non-blocking and close-on-exec from birth,
//! no write raises `SIGPIPE`, and reuse options are set only where DESIGN.md's table says:
//! `SO_REUSEADDR` on TCP and Unix listeners, `SO_REUSEADDR` + `SO_REUSEPORT` on multicast
//! receivers and on a [`TcpSocket`] that asks for it, nothing on anything else.
//!
//! Byte streams implement `futures_io::AsyncRead`/`AsyncWrite` (also through `&stream`, so
//! one task can read while another writes), so `futures-util`'s `read_exact`, `write_all`
//! and `copy` work unchanged. With the feature `tokio-io` (off by default) they also
//! implement `tokio::io::AsyncRead`/`AsyncWrite`, for tokio-rustls, tokio-util codecs and
//! tonic. With the feature `hyper` (off by default) they implement hyper 1.x's
//! `rt::Read`/`rt::Write`, and `net::compat::hyper` has hyper's executor and timer: hyper
//! serves and connects over these streams with no wrapper.
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # runtime::Builder::new_current_thread().build()?.block_on(async {
//! let listener = net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! runtime::spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     let (mut r, mut w) = (&stream, &stream);
//!     futures_util::io::copy(&mut r, &mut w).await
//! });
//! let mut client = net::TcpStream::connect(addr).await?;
//! client.write_all(b"ping").await?;
//! let mut buf = [0; 4];
//! client.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"ping");
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod accept; // accepting with back-off when the process runs out of descriptors
mod addr; // ToSocketAddrs, lookup_host: address forms, resolution on the blocking pool
pub mod compat; // other ecosystems' traits, each behind its feature (`hyper`, `tokio-io`)
mod stream; // AsyncRead/AsyncWrite shared by the byte streams
pub mod tcp; // TcpListener, TcpStream, TcpSocket
mod udp; // UdpSocket, multicast
pub mod unix; // UnixListener, UnixStream, UnixDatagram

pub use addr::{ToSocketAddrs, lookup_host};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
