//! Combined readiness, as tokio's: `AsyncFd::ready(Interest)` waits for either direction and
//! reports what is ready (both at once when both are), waking on a read edge and on a write
//! edge alike; `TcpStream::ready` and `UnixStream::ready` build on it.
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
}
