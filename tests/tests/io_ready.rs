//! Combined readiness, as tokio's: `AsyncFd::ready(Interest)` waits for either direction and
//! reports what is ready (both at once when both are), waking on a read edge and on a write
//! edge alike; `ready` on the streams, their owned halves and the datagram sockets builds on it.
//! Races: "still waiting" is shown by letting the event loop turn (sleeps) with nothing to
//! make the descriptor ready; nothing depends on how long anything takes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::Duration;

use futures_util::io::AsyncWriteExt;
use runtime::io::{AsyncFd, Interest};
use runtime::time::sleep;
use tests::net::within;
use tests::rt::pipe;
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);
const BOTH: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// Lets the event loop turn a few times, then asserts `task` has not finished.
async fn assert_still_waiting<T>(task: &runtime::task::JoinHandle<T>, what: &str) {
    for _ in 0..10 {
        sleep(Duration::from_millis(2)).await;
        assert!(!task.is_finished(), "{what} finished with nothing ready");
    }
}

rt_test! {
    // Proves: waiting on both directions of a pipe's read end (never writable) resolves on
    // the read edge, reporting readable and not writable.
    async fn ready_for_either_wakes_on_a_read_edge() {
        let (read_end, write_end) = pipe().unwrap();
        let fd = std::sync::Arc::new(AsyncFd::new(File::from(read_end)).unwrap());
        let waiter = runtime::spawn({
            let fd = fd.clone();
            async move { fd.ready(BOTH).await.map(|guard| guard.ready()) }
        });
        assert_still_waiting(&waiter, "ready(BOTH) on an empty pipe").await;
        let mut writer = File::from(write_end); // kept open: no hang-up in the report
        writer.write_all(b"x").unwrap();
        let ready = within(LIMIT, "read edge", waiter).await.unwrap().unwrap();
        assert!(ready.is_readable() && !ready.is_writable(), "{ready:?}");
        drop(writer);
    }

    // Proves: with the send buffer full and nothing to read, waiting on both directions
    // resolves on the write edge once the peer drains, reporting writable.
    async fn ready_for_either_wakes_on_a_write_edge() {
        let (ours, mut theirs) = StdUnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let fd = std::sync::Arc::new(AsyncFd::new(ours).unwrap());
        let chunk = [7u8; 4096];
        let mut written = 0;
        within(LIMIT, "writable", fd.writable()).await.unwrap().retain_ready();
        loop {
            // Ready until the kernel says `WouldBlock`, which clears the readiness.
            match fd.try_io(Interest::WRITABLE, |s| (&*s).write(&chunk)) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let waiter = runtime::spawn({
            let fd = fd.clone();
            async move { fd.ready(BOTH).await.map(|guard| guard.ready()) }
        });
        assert_still_waiting(&waiter, "ready(BOTH) with a full buffer").await;
        let drain = std::thread::spawn(move || {
            let mut buf = vec![0; written];
            theirs.read_exact(&mut buf).unwrap();
            theirs // kept open: no hang-up in the report
        });
        let ready = within(LIMIT, "write edge", waiter).await.unwrap().unwrap();
        assert!(ready.is_writable() && !ready.is_readable(), "{ready:?}");
        drop(drain.join().unwrap());
    }

    // Proves: when both directions are ready, one `ready(BOTH)` reports both.
    async fn ready_reports_both_directions_at_once() {
        let (ours, mut theirs) = StdUnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let fd = AsyncFd::new(ours).unwrap();
        theirs.write_all(b"x").unwrap();
        within(LIMIT, "readable", fd.readable()).await.unwrap().retain_ready();
        let ready = fd.ready(BOTH).await.unwrap().ready();
        assert!(ready.is_readable() && ready.is_writable(), "{ready:?}");
        let ready = fd.ready(Interest::WRITABLE).await.unwrap().ready();
        assert!(ready.is_writable() && !ready.is_readable(), "{ready:?}");
    }

    // Proves: `TcpStream::ready` reports a fresh connection writable, waits for readable
    // until the peer writes, and the data is then there for `try_read`.
    async fn tcp_stream_ready() {
        let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let connect = net::TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = futures_util::join!(connect, listener.accept());
        let mut client = client.unwrap();
        let server = std::sync::Arc::new(accepted.unwrap().0);
        let ready = within(LIMIT, "writable", client.ready(Interest::WRITABLE)).await.unwrap();
        assert!(ready.is_writable(), "{ready:?}");
        let waiter = runtime::spawn({
            let server = server.clone();
            async move { server.ready(Interest::READABLE).await }
        });
        assert_still_waiting(&waiter, "TcpStream::ready(READABLE)").await;
        client.write_all(b"hi").await.unwrap();
        let ready = within(LIMIT, "readable", waiter).await.unwrap().unwrap();
        assert!(ready.is_readable(), "{ready:?}");
        let mut buf = [0; 2];
        assert_eq!(server.try_read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"hi");
    }

    // Proves: `UnixStream::ready(BOTH)` reports both directions once data is waiting.
    async fn unix_stream_ready() {
        let (a, mut b) = net::UnixStream::pair().unwrap();
        b.write_all(b"x").await.unwrap();
        a.readable().await.unwrap();
        let ready = within(LIMIT, "ready", a.ready(BOTH)).await.unwrap();
        assert!(ready.is_readable() && ready.is_writable(), "{ready:?}");
    }

    // Proves: the owned halves of a TCP and a Unix stream answer `ready` like the stream
    // they came from: the write half reports writable, the read half waits until the peer
    // writes and then finds the data with `try_read`.
    async fn owned_halves_ready() {
        let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let connect = net::TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = futures_util::join!(connect, listener.accept());
        let mut client = client.unwrap();
        let (read_half, write_half) = accepted.unwrap().0.into_split();
        let ready = within(LIMIT, "writable", write_half.ready(Interest::WRITABLE)).await.unwrap();
        assert!(ready.is_writable(), "{ready:?}");
        let waiter = runtime::spawn(async move {
            let ready = read_half.ready(Interest::READABLE).await?;
            let mut buf = [0; 2];
            read_half.try_read(&mut buf).map(|n| (ready, buf, n))
        });
        assert_still_waiting(&waiter, "OwnedReadHalf::ready(READABLE)").await;
        client.write_all(b"hi").await.unwrap();
        let (ready, buf, n) = within(LIMIT, "readable", waiter).await.unwrap().unwrap();
        assert!(ready.is_readable(), "{ready:?}");
        assert_eq!(&buf[..n], b"hi");

        let (a, mut b) = net::UnixStream::pair().unwrap();
        let (a_read, a_write) = a.into_split();
        b.write_all(b"x").await.unwrap();
        let ready = within(LIMIT, "unix read half", a_read.ready(Interest::READABLE)).await;
        assert!(ready.unwrap().is_readable());
        let ready = within(LIMIT, "unix write half", a_write.ready(BOTH)).await.unwrap();
        assert!(ready.is_writable(), "{ready:?}");
    }

    // Proves: the datagram sockets have tokio's readiness API: `ready`, `readable`,
    // `writable`, and `try_send`/`try_recv` that say `WouldBlock` instead of waiting.
    async fn datagram_sockets_ready_and_try_io() {
        let (a, b) = net::UnixDatagram::pair().unwrap();
        let mut buf = [0; 8];
        assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        within(LIMIT, "unix writable", a.writable()).await.unwrap();
        assert_eq!(a.try_send(b"dg").unwrap(), 2);
        let ready = within(LIMIT, "unix ready", b.ready(Interest::READABLE)).await.unwrap();
        assert!(ready.is_readable(), "{ready:?}");
        assert_eq!(b.try_recv(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"dg");

        // A directory per case: both flavors run this case at once in one process.
        let temp = tests::net::TempDir::new("io_ready_dg");
        let dir = temp.path().join("bound");
        let bound = net::UnixDatagram::bind(&dir).unwrap();
        let unbound = net::UnixDatagram::unbound().unwrap();
        within(LIMIT, "unbound writable", unbound.writable()).await.unwrap();
        assert_eq!(unbound.try_send_to(b"to", &dir).unwrap(), 2);
        within(LIMIT, "bound readable", bound.readable()).await.unwrap();
        assert_eq!(bound.try_recv_from(&mut buf).unwrap().0, 2);
        assert_eq!(&buf[..2], b"to");

        let x = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let y = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        x.connect(y.local_addr().unwrap()).await.unwrap();
        y.connect(x.local_addr().unwrap()).await.unwrap();
        assert_eq!(y.try_recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        within(LIMIT, "udp writable", x.ready(Interest::WRITABLE)).await.unwrap();
        assert_eq!(x.try_send(b"udp").unwrap(), 3);
        let ready = within(LIMIT, "udp readable", y.ready(Interest::READABLE)).await.unwrap();
        assert!(ready.is_readable(), "{ready:?}");
        assert_eq!(y.try_recv(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"udp");
    }
}
