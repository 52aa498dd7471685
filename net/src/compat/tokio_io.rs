//! `tokio::io::AsyncRead`/`AsyncWrite` for the byte streams (feature `tokio-io`), so
//! tokio-rustls, tokio-util codecs and tonic run over them unchanged. Only tokio's traits
//! are used (tokio with default features off); the I/O goes through the same paths as the
//! `futures_io` impls in `stream.rs`.
//!
//! `poll_read` fills a `ReadBuf` without `unsafe`: it initializes the unfilled part, reads
//! into it, then advances. `ReadBuf` remembers what is initialized, so a buffer reused
//! across reads is zeroed once; a fresh one costs one `memset` per read, small next to the
//! `recv`. `poll_shutdown` shuts the write side down, as tokio's `TcpStream` does.

use std::io;
use std::task::{Context, Poll, ready};

use runtime::io::AsyncFd;
use sys::Socket;
use tokio::io::ReadBuf;

use crate::stream;
use crate::{TcpStream, UnixStream};

fn poll_read(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let n = ready!(stream::poll_read(io, cx, buf.initialize_unfilled()))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// Implements tokio's `AsyncRead` and `AsyncWrite` for each listed type (a stream and a
/// reference to it), whose `io` field is an `AsyncFd<Socket>`.
macro_rules! impl_tokio_io {
    ($($ty:ty),+) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read(&self.io, cx, buf)
            }
        }

        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                stream::poll_write(&self.io, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                stream::poll_write_vectored(&self.io, cx, bufs)
            }

            // One `sendmsg` takes up to `MAX_IOV` slices.
            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                stream::poll_close(&self.io)
            }
        }
    )+};
}

impl_tokio_io!(TcpStream, &TcpStream, UnixStream, &UnixStream);
