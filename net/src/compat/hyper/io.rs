//! `hyper::rt::Read`/`Write` for the byte streams, through the same readiness paths as the
//! `futures_io` impls (`crate::stream`).
//!
//! Reading without `unsafe` (this crate forbids it): hyper's `ReadBufCursor` can be filled
//! safely only by `put_slice`, since `advance` after writing into its spare capacity is an
//! `unsafe fn`. So `poll_read` receives into a per-thread scratch buffer and copies what
//! arrived into the cursor. That costs one `memcpy` of the bytes read, and no `memset`: the
//! scratch buffer is zeroed once per thread, where initialising hyper's (fresh on every
//! read) buffer would zero all of its spare capacity on every read.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::rt::ReadBufCursor;
use runtime::io::AsyncFd;
use sys::Socket;

use crate::stream;
use crate::{TcpStream, UnixStream};

/// The most one read takes; more than hyper's first read buffer (8 KiB) asks for, and a
/// usual TCP receive window's worth for bodies.
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

fn poll_read(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    mut cursor: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let len = cursor.remaining().min(SCRATCH_LEN);
    if len == 0 {
        return Poll::Ready(Ok(()));
    }
    let mut read = |scratch: &mut [u8]| {
        let n = ready!(stream::poll_read(io, cx, &mut scratch[..len]))?;
        cursor.put_slice(&scratch[..n]);
        Poll::Ready(Ok(()))
    };
    // The thread's buffer is gone during thread teardown; it is never borrowed twice
    // (nothing in a read calls back here), but a fresh buffer covers both cases.
    SCRATCH
        .try_with(|scratch| scratch.try_borrow_mut().ok().map(|mut s| read(&mut s)))
        .ok()
        .flatten()
        .unwrap_or_else(|| read(&mut vec![0; len]))
}

/// Implements hyper's `Read` and `Write` for each listed type (a stream and a reference
/// to it), whose `io` field is an `AsyncFd<Socket>`.
macro_rules! impl_hyper_io {
    ($($ty:ty),+) => {$(
        impl hyper::rt::Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read(&self.io, cx, buf)
            }
        }

        impl hyper::rt::Write for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                stream::poll_write(&self.io, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                stream::poll_write_vectored(&self.io, cx, bufs)
            }

            // One `sendmsg` takes up to `MAX_IOV` slices: hyper then writes a response's
            // head and body in one call instead of copying them together.
            fn is_write_vectored(&self) -> bool {
                true
            }

            // Writes go straight to the socket: nothing is buffered here.
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            // Shuts the write side down, so the peer reads end-of-stream.
            fn poll_shutdown(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                stream::poll_close(&self.io)
            }
        }
    )+};
}

impl_hyper_io!(TcpStream, &TcpStream, UnixStream, &UnixStream);

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use futures_util::io::AsyncWriteExt;
    use hyper::rt::{Read, ReadBuf, Write};

    use super::*;

    async fn read_some(mut stream: &UnixStream, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, buf.unfilled())).await?;
        Ok(buf.filled().len())
    }

    // Proves a read fills the cursor with exactly the bytes sent, in order, both into a
    // small buffer (several reads) and a large one, and reads end-of-stream as 0 bytes.
    #[test]
    fn read_fills_the_cursor_and_reports_eof() {
        let rt = runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            b.write_all(b"hello, hyper").await.unwrap();
            let mut small = [0; 5];
            assert_eq!(read_some(&a, &mut small).await.unwrap(), 5);
            assert_eq!(&small, b"hello");
            b.close().await.unwrap();
            let mut big = vec![0; 2 * SCRATCH_LEN];
            let n = read_some(&a, &mut big).await.unwrap();
            assert_eq!(&big[..n], b", hyper");
            assert_eq!(read_some(&a, &mut big).await.unwrap(), 0);
        });
    }

    // Proves vectored writes send every slice in order and shutdown ends the stream.
    #[test]
    fn vectored_write_and_shutdown() {
        let rt = runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (mut a, b) = UnixStream::pair().unwrap();
            assert!(Write::is_write_vectored(&a));
            let bufs = [IoSlice::new(b"head,"), IoSlice::new(b"body")];
            let n = poll_fn(|cx| Pin::new(&mut a).poll_write_vectored(cx, &bufs))
                .await
                .unwrap();
            assert_eq!(n, 9);
            poll_fn(|cx| Pin::new(&mut a).poll_flush(cx)).await.unwrap();
            poll_fn(|cx| Pin::new(&mut a).poll_shutdown(cx))
                .await
                .unwrap();
            let mut buf = [0; 16];
            assert_eq!(read_some(&b, &mut buf).await.unwrap(), 9);
            assert_eq!(&buf[..9], b"head,body");
            assert_eq!(read_some(&b, &mut buf).await.unwrap(), 0);
        });
    }
}
