//! The byte-stream traits shared by `TcpStream` and `UnixStream`: `futures_io::AsyncRead`
//! and `AsyncWrite` for the stream and for `&stream`, so one task can read while another
//! writes through a shared reference.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::task::{Context, Poll, ready};

use runtime::io::AsyncFd;
use sys::Socket;

/// Reads once readable. A short read (fewer bytes than asked) means the socket's receive
/// queue was empty at that moment, so readiness is cleared right away: the next read
/// waits for a new edge instead of paying a `recv` that returns `EAGAIN`. Data that arrives
/// after the read raises a new edge (the registration is edge-triggered), so none is missed.
pub(crate) fn poll_read(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    loop {
        let mut guard = ready!(io.poll_read_ready(cx))?;
        if let Ok(result) = guard.try_io(|io| io.get_ref().recv(buf)) {
            if matches!(result, Ok(n) if n > 0 && n < buf.len()) {
                guard.clear_ready();
            }
            return Poll::Ready(result);
        }
    }
}

/// Writes once writable; a short write means the send buffer is full, so readiness is
/// cleared right away (see [`poll_read`]).
pub(crate) fn poll_write(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    poll_write_op(io, cx, buf.len(), |s| s.send(buf))
}

fn poll_write_op(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    len: usize,
    mut op: impl FnMut(&Socket) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        let mut guard = ready!(io.poll_write_ready(cx))?;
        if let Ok(result) = guard.try_io(|io| op(io.get_ref())) {
            if matches!(result, Ok(n) if n > 0 && n < len) {
                guard.clear_ready();
            }
            return Poll::Ready(result);
        }
    }
}

pub(crate) fn poll_write_vectored(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    // Only the slices one call can take count: a write of all of them is not short.
    let len = bufs
        .iter()
        .take(sys::socket::MAX_IOV)
        .map(|b| b.len())
        .sum();
    poll_write_op(io, cx, len, |s| s.send_vectored(bufs))
}

/// `poll_close` shuts the write side down, so the peer reads end-of-stream.
pub(crate) fn poll_close(io: &AsyncFd<Socket>) -> Poll<io::Result<()>> {
    match io.get_ref().shutdown(Shutdown::Write) {
        // The peer already went away: the write side is as closed as it gets.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
        result => Poll::Ready(result),
    }
}

/// Implements `AsyncRead` and `AsyncWrite` for each listed type (a stream and a reference
/// to it), whose `io` field is an `AsyncFd<Socket>`.
macro_rules! impl_byte_stream {
    ($($ty:ty),+) => {$(
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream::poll_read(&self.io, cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream::poll_write(&self.io, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream::poll_write_vectored(&self.io, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::stream::poll_close(&self.io)
            }
        }
    )+};
}

pub(crate) use impl_byte_stream;

/// Implements `AsRawFd` and `AsFd` for a type whose `io` field is an `AsyncFd<Socket>`.
macro_rules! impl_as_fd {
    ($ty:ty) => {
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.as_fd()
            }
        }
    };
}

pub(crate) use impl_as_fd;

/// Decodes an IP address the kernel returned.
pub(crate) fn inet(addr: sys::SockAddr) -> io::Result<std::net::SocketAddr> {
    addr.as_inet()
        .ok_or_else(|| io::Error::other(format!("expected an IP socket address, got {addr:?}")))
}

/// The socket domain for an IP address.
pub(crate) fn domain(addr: &std::net::SocketAddr) -> sys::Domain {
    match addr {
        std::net::SocketAddr::V4(_) => sys::Domain::Ipv4,
        std::net::SocketAddr::V6(_) => sys::Domain::Ipv6,
    }
}
