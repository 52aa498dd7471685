//! `runtime::io::AsyncFd` over Unix socketpairs and pipes: readiness, the retry loop that
//! clears readiness on `WouldBlock` without losing an edge, many waiters, the ready
//! guard, deregistration on drop, and life outside (or after) a runtime.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{Either, select};
use runtime::io::{AsyncFd, Interest};
use runtime::task::{JoinHandle, yield_now};
use runtime::time::{sleep, timeout};
use tests::rt::{count_when_pending, pipe, soak, thread_waker};
use tests::rt_test;

/// A connected pair: the first end registered, the second a plain blocking socket.
fn registered_pair() -> (AsyncFd<UnixStream>, UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    (AsyncFd::new(ours).unwrap(), theirs)
}

/// Reads one byte through `read_with` (waiting for readiness as needed).
async fn read_byte<T>(fd: &AsyncFd<T>) -> io::Result<Option<u8>>
where
    T: std::os::fd::AsRawFd,
    for<'a> &'a T: Read,
{
    let mut byte = [0u8; 1];
    let n = fd.read_with(|mut inner| inner.read(&mut byte)).await?;
    Ok((n == 1).then_some(byte[0]))
}

/// A close-on-exec duplicate of `fd` on the lowest free descriptor number `>= min`
/// (`fcntl(F_DUPFD_CLOEXEC)`: unlike `dup2`, it never closes a descriptor someone else
/// opened meanwhile).
fn dup_at_least(fd: &OwnedFd, min: RawFd) -> OwnedFd {
    // SAFETY: `fd` is an open descriptor we borrow for the call; F_DUPFD_CLOEXEC takes an
    // int argument and creates a new descriptor.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    assert!(
        new >= 0,
        "fcntl(F_DUPFD_CLOEXEC): {}",
        io::Error::last_os_error()
    );
    // SAFETY: fcntl just returned this fresh descriptor; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(new) }
}

/// The byte at offset `i` of a transfer: 251 is prime, so a lost, repeated or reordered
/// byte shows up whatever the chunk sizes.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// Pushes `len` bytes from `writer` (in chunks of up to 64 KiB, through `write_with`) to
/// `reader` (one byte per `read_with`), in two tasks, and checks every byte in order.
async fn transfer_one_byte_reads<R, W>(reader: AsyncFd<R>, writer: AsyncFd<W>, len: usize)
where
    R: AsRawFd + Send + Sync + 'static,
    W: AsRawFd + Send + Sync + 'static,
    for<'a> &'a R: Read,
    for<'a> &'a W: Write,
{
    let data: Vec<u8> = (0..len).map(pattern).collect();
    let write = runtime::spawn(async move {
        let mut offset = 0;
        while offset < data.len() {
            let end = (offset + 64 * 1024).min(data.len());
            let chunk = &data[offset..end];
            offset += writer
                .write_with(|mut inner| inner.write(chunk))
                .await
                .unwrap();
        }
        writer // closing it is up to the reader's side of the test
    });
    let read = runtime::spawn(async move {
        for i in 0..len {
            match read_byte(&reader).await.unwrap() {
                Some(byte) => assert_eq!(byte, pattern(i), "byte {i} of {len}"),
                None => panic!("end of stream after {i} of {len} bytes"),
            }
        }
        reader
    });
    let (writer, reader) = (write.await.unwrap(), read.await.unwrap());
    drop(writer);
    assert_eq!(
        read_byte(&reader).await.unwrap(),
        None,
        "bytes beyond the {len} sent"
    );
}

rt_test! {
    // Proves that a fresh socket is reported writable, becomes readable only once its
    // peer writes, and that read_with then reads what was written.
    async fn socketpair_is_writable_then_readable_after_the_peer_writes() {
        let (fd, mut peer) = registered_pair();
        assert!(fd.writable().await.unwrap().ready().is_writable());
        assert!(fd.readable().now_or_never().is_none(), "readable with nothing sent");
        let writer = runtime::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            peer.write_all(b"x").unwrap();
            peer
        });
        let guard = fd.readable().await.unwrap();
        assert!(guard.ready().is_readable());
        assert_eq!(read_byte(&fd).await.unwrap(), Some(b'x'));
        drop(writer.await.unwrap()); // the peer hangs up: read-closed wakes the reader
        assert_eq!(read_byte(&fd).await.unwrap(), None);
    }

    // Proves readiness on both ends of a pipe made with pipe2(O_NONBLOCK|O_CLOEXEC): the
    // write end is writable, the read end readable once written to, and read-closed
    // (end of file) once the write end closes.
    async fn pipe_ends_report_writable_and_readable() {
        let (read_end, write_end) = pipe().unwrap();
        let reader = AsyncFd::new(File::from(read_end)).unwrap();
        let writer = AsyncFd::new(File::from(write_end)).unwrap();
        assert!(writer.writable().await.unwrap().ready().is_writable());
        assert!(reader.readable().now_or_never().is_none(), "readable with nothing sent");
        let n = writer.write_with(|mut inner| inner.write(b"pipe")).await.unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 8];
        let n = reader.read_with(|mut inner| inner.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"pipe");
        drop(writer);
        assert_eq!(read_byte(&reader).await.unwrap(), None);
    }

    // Proves that read_with re-arms on WouldBlock without losing a byte: 8 MiB (a tenth
    // in debug builds) goes through a socketpair in 64 KiB writes and 1-byte reads, in
    // two tasks, and every byte arrives once and in order.
    async fn socketpair_one_byte_reads_lose_no_byte() {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let len = soak(8 << 20);
        transfer_one_byte_reads(AsyncFd::new(a).unwrap(), AsyncFd::new(b).unwrap(), len).await;
    }

    // Proves the same over a pipe (smaller kernel buffer, so far more WouldBlock edges
    // per byte on the write side): 2 MiB (a tenth in debug builds), 1-byte reads.
    async fn pipe_one_byte_reads_lose_no_byte() {
        let (read_end, write_end) = pipe().unwrap();
        let reader = AsyncFd::new(File::from(read_end)).unwrap();
        let writer = AsyncFd::new(File::from(write_end)).unwrap();
        transfer_one_byte_reads(reader, writer, soak(2 << 20)).await;
    }

    // Proves that two tasks waiting on readable() of one AsyncFd are both woken by one
    // write.
    // Steps: both tasks wait until each has polled readable() to Pending (it is then in
    // the waiter list); one byte is written to the peer; both must complete.
    async fn two_readable_waiters_both_wake_on_one_write() {
        let (fd, mut peer) = registered_pair();
        let fd = Arc::new(fd);
        let waiting = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<JoinHandle<bool>> = (0..2)
            .map(|_| {
                let fd = fd.clone();
                let wait = async move { fd.readable().await.unwrap().ready().is_readable() };
                runtime::spawn(count_when_pending(wait, waiting.clone()))
            })
            .collect();
        while waiting.load(Ordering::SeqCst) < 2 {
            yield_now().await;
        }
        peer.write_all(b"!").unwrap();
        for waiter in waiters {
            assert!(waiter.await.unwrap());
        }
    }

    // Proves that concurrent read_with callers share the bytes without losing an edge:
    // when one byte wakes two readers, the one that finds nothing clears readiness and
    // waits again, and the next byte wakes it.
    // Steps: two tasks wait in read_with for one byte each; byte 1 is written; once a
    // reader has it, byte 2 is written; both must finish, with the two bytes between them.
    async fn concurrent_read_with_callers_each_get_a_byte() {
        let (fd, mut peer) = registered_pair();
        let fd = Arc::new(fd);
        let waiting = Arc::new(AtomicUsize::new(0));
        let mut readers: Vec<JoinHandle<Option<u8>>> = (0..2)
            .map(|_| {
                let fd = fd.clone();
                let read = async move { read_byte(&fd).await.unwrap() };
                runtime::spawn(count_when_pending(read, waiting.clone()))
            })
            .collect();
        while waiting.load(Ordering::SeqCst) < 2 {
            yield_now().await;
        }
        peer.write_all(&[1]).unwrap();
        let second = readers.pop().unwrap();
        let first = readers.pop().unwrap();
        let (got, other) = match select(first, second).await {
            Either::Left((got, other)) | Either::Right((got, other)) => (got.unwrap(), other),
        };
        peer.write_all(&[2]).unwrap();
        let mut bytes = [got, other.await.unwrap()];
        bytes.sort();
        assert_eq!(bytes, [Some(1), Some(2)]);
    }

    // Proves that the ready guard's try_io clears readiness only on WouldBlock: after a
    // successful read the readiness stays (readable() resolves at once); after a
    // WouldBlock it is cleared (readable() waits) until the peer writes again.
    async fn ready_guard_try_io_clears_readiness_on_would_block() {
        let (fd, mut peer) = registered_pair();
        peer.write_all(b"ab").unwrap();
        let mut buf = [0u8; 1];
        let read_one = |fd: &AsyncFd<UnixStream>, buf: &mut [u8]| fd.get_ref().read(buf);

        let mut guard = fd.readable().await.unwrap();
        assert_eq!(guard.try_io(|fd| read_one(fd, &mut buf)).unwrap().unwrap(), 1);
        assert_eq!(buf, *b"a");

        let mut guard = fd.readable().now_or_never().expect("readiness was kept").unwrap();
        assert_eq!(guard.try_io(|fd| read_one(fd, &mut buf)).unwrap().unwrap(), 1);
        assert_eq!(buf, *b"b");
        assert!(guard.try_io(|fd| read_one(fd, &mut buf)).is_err(), "drained: WouldBlock");
        assert!(fd.readable().now_or_never().is_none(), "readiness survived a WouldBlock");

        peer.write_all(b"c").unwrap();
        let mut guard = fd.readable().await.unwrap();
        assert_eq!(guard.try_io(|fd| read_one(fd, &mut buf)).unwrap().unwrap(), 1);
        assert_eq!(buf, *b"c");

        // clear_ready does the same by hand, even without a WouldBlock.
        peer.write_all(b"d").unwrap();
        let mut guard = fd.readable().await.unwrap();
        guard.clear_ready();
        assert!(fd.readable().now_or_never().is_none(), "clear_ready kept the readiness");
    }

    // Proves AsyncFd::try_io: without reported readiness it returns WouldBlock and never
    // calls the operation; with readiness it runs it.
    async fn try_io_without_readiness_does_not_call_the_operation() {
        let (fd, mut peer) = registered_pair();
        let calls = AtomicUsize::new(0);
        let err = fd
            .try_io(Interest::READABLE, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        peer.write_all(b"z").unwrap();
        let _ready = fd.readable().await.unwrap();
        let mut buf = [0u8; 1];
        let n = fd.try_io(Interest::READABLE, |mut s| s.read(&mut buf)).unwrap();
        assert_eq!((n, buf), (1, *b"z"));
    }

    // Proves that dropping an AsyncFd deregisters before the descriptor closes: if it
    // did not (or did so after closing, when epoll_ctl fails with EBADF), the kernel
    // would keep the registration of (fd number, open socket) while a dup holds the
    // socket open, and registering that same pair again would fail with AlreadyExists.
    // Steps: register socket A as fd N and keep a dup of it; drop the AsyncFd (closing
    // N); duplicate A back onto the lowest free number >= N (retrying if another test
    // thread took N); register it again; it must succeed and work.
    async fn drop_deregisters_before_close() {
        for _ in 0..100 {
            let (socket, mut peer) = UnixStream::pair().unwrap();
            socket.set_nonblocking(true).unwrap();
            let socket = OwnedFd::from(socket);
            let alive = socket.try_clone().unwrap();
            let number = socket.as_raw_fd();
            let fd = AsyncFd::new(socket).unwrap();
            let _ready = fd.writable().await.unwrap();
            drop(fd);
            let again = dup_at_least(&alive, number);
            if again.as_raw_fd() != number {
                continue; // another thread took the number first
            }
            let fd = AsyncFd::new(File::from(again)).expect("registering (N, the socket) again");
            peer.write_all(b"same").unwrap();
            let mut buf = [0u8; 4];
            let n = fd.read_with(|mut s| s.read(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"same");
            return;
        }
        panic!("could not get the dropped fd number back in 100 tries");
    }

    // Proves that a new socket that reuses a dropped AsyncFd's fd number registers
    // (no AlreadyExists) and is never woken through the old registration: traffic on the
    // old socket (kept open through a dup, so the kernel would report it if it were still
    // registered) leaves the new AsyncFd unreadable.
    // Steps: register socket A (fd N) and keep a dup of it; drop the AsyncFd (closing N);
    // make socketpairs until one lands on N; register it; write to A's peer; the new
    // AsyncFd must stay unreadable; write to its own peer; it must become readable.
    async fn reused_fd_number_is_never_woken_by_the_old_registration() {
        for _ in 0..100 {
            let (old, mut old_peer) = UnixStream::pair().unwrap();
            old.set_nonblocking(true).unwrap();
            let old = OwnedFd::from(old);
            let _old_alive = old.try_clone().unwrap();
            let number = old.as_raw_fd();
            let old = AsyncFd::new(old).unwrap();
            let _ready = old.writable().await.unwrap();
            drop(old);

            let (a, b) = UnixStream::pair().unwrap();
            let (reused, mut new_peer) = match (a.as_raw_fd(), b.as_raw_fd()) {
                (n, _) if n == number => (a, b),
                (_, n) if n == number => (b, a),
                _ => continue, // another thread took the number first
            };
            reused.set_nonblocking(true).unwrap();
            let new = AsyncFd::new(reused).expect("registering the reused fd number");
            old_peer.write_all(b"stale").unwrap();
            let stale = timeout(Duration::from_millis(50), new.readable()).await;
            assert!(stale.is_err(), "the old registration woke the new one");
            new_peer.write_all(b"fresh").unwrap();
            let mut buf = [0u8; 5];
            let n = new.read_with(|mut s| s.read(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"fresh");
            return;
        }
        panic!("no socketpair reused the dropped fd number in 100 tries");
    }

    // Proves that into_inner deregisters: the same descriptor can be registered again
    // right away, while registering a descriptor twice at once is refused with
    // AlreadyExists (an error, not a panic).
    async fn into_inner_deregisters_and_double_registration_is_refused() {
        let (fd, mut peer) = registered_pair();
        let raw = fd.as_raw_fd();
        let twice = AsyncFd::new(raw).map(drop).unwrap_err();
        assert_eq!(twice.kind(), io::ErrorKind::AlreadyExists, "{twice}");
        let socket = fd.into_inner();
        let fd = AsyncFd::new(socket).expect("registering again after into_inner");
        peer.write_all(b"again").unwrap();
        let mut buf = [0u8; 5];
        let n = fd.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"again");
    }

    // Proves that a readiness wait pending on a foreign thread when the runtime drops is
    // woken by the drop and fails with an error, rather than waiting forever.
    // Steps: a std thread polls readable() of a registered socket with a thread-unparking
    // waker and parks; once it is registered, the runtime is dropped; the thread must
    // wake and see the error.
    fn readiness_wait_on_a_foreign_thread_fails_when_the_runtime_drops(flavor) {
        let rt = flavor.build();
        let (fd, _peer) = rt.block_on(async { registered_pair() });
        let (registered_tx, registered) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let waker = thread_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut wait = Box::pin(fd.readable());
            assert!(wait.as_mut().poll(&mut cx).is_pending());
            registered_tx.send(()).unwrap();
            loop {
                if let std::task::Poll::Ready(result) = wait.as_mut().poll(&mut cx) {
                    return result.map(|_| ()).unwrap_err().to_string();
                }
                std::thread::park();
            }
        });
        registered.recv().unwrap();
        drop(rt);
        let message = waiter.join().unwrap();
        assert!(message.contains("shut down"), "{message}");
    }

    // Proves that an AsyncFd outliving its runtime fails its waits with an error saying
    // the runtime shut down (rather than hanging), and still gives its descriptor back.
    fn waits_fail_after_the_runtime_shuts_down(flavor) {
        let rt = flavor.build();
        let (fd, mut peer) = rt.block_on(async { registered_pair() });
        drop(rt);
        let err = fd.readable().now_or_never().expect("fails at once").unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        let mut buf = [0u8; 1];
        let read = fd.read_with(|mut s| s.read(&mut buf)).now_or_never();
        assert!(read.expect("fails at once").is_err());
        let mut socket = fd.into_inner();
        peer.write_all(b"k").unwrap();
        socket.set_nonblocking(false).unwrap();
        socket.read_exact(&mut buf).unwrap();
        assert_eq!(buf, *b"k");
    }
}

// Proves that AsyncFd::new outside a runtime returns an io::Error (not a panic) whose
// message says there is no runtime.
#[test]
fn async_fd_new_outside_a_runtime_is_an_error_not_a_panic() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let err = AsyncFd::new(a).unwrap_err();
    assert!(err.to_string().contains("no runtime"), "{err}");
}
