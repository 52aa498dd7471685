//! Unix stream sockets: listener and connect on a path, `pair()`, `incoming()`, peer
//! credentials, and the errors of connecting where nothing listens.

use std::io;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{UnixListener, UnixStream};
use tests::net::{TempDir, assert_same_bytes, payload, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

rt_test! {
    // Proves: `peek` returns queued data without consuming it, as on TCP: two peeks see the
    // same bytes and a read afterwards still gets all of them.
    async fn peek_returns_data_without_consuming_it() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"hello world").await.unwrap();
        within(LIMIT, "peek", async {
            let mut first = [0; 64];
            let n = a.peek(&mut first).await.unwrap();
            assert_eq!(&first[..n], b"hello world");
            let mut second = [0; 64];
            assert_eq!(a.peek(&mut second).await.unwrap(), n);
            let mut all = [0; 11];
            a.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"hello world");
        })
        .await;
    }

    // Proves: a listener bound to a path accepts a connection; data crosses both ways intact
    // (larger than the socket buffers); the client's `peer_addr` and the accepted stream's
    // `local_addr` are the listener's path, and the client's own address is unnamed.
    async fn stream_round_trip_through_a_path_listener() {
        let dir = TempDir::new("uds-stream");
        let path = dir.join("server.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
        let up = payload(1, 300_000);
        let down = payload(2, 300_000);

        let server = runtime::spawn({
            let (up, down) = (up.clone(), down.clone());
            async move {
                let (mut stream, peer) = listener.accept().await.unwrap();
                assert!(peer.is_unnamed(), "{peer:?}");
                let mut got = vec![0; up.len()];
                stream.read_exact(&mut got).await.unwrap();
                assert_same_bytes(&got, &up, "client to server");
                stream.write_all(&down).await.unwrap();
                stream.local_addr().unwrap()
            }
        });

        within(LIMIT, "unix stream exchange", async {
            let mut client = UnixStream::connect(&path).await.unwrap();
            assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(&*path));
            assert!(client.local_addr().unwrap().is_unnamed());
            client.write_all(&up).await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_same_bytes(&got, &down, "server to client");
            let server_local = server.await.unwrap();
            assert_eq!(server_local.as_pathname(), Some(&*path));
        })
        .await;
    }

    // Proves: `UnixStream::pair()` gives two connected, unnamed streams that carry data both
    // ways and see each other's end of stream.
    async fn pair_is_connected_both_ways() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(b.peer_addr().unwrap().is_unnamed());
        within(LIMIT, "pair exchange", async {
            a.write_all(b"a to b").await.unwrap();
            let mut buf = [0; 6];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"a to b");
            b.write_all(b"b to a").await.unwrap();
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"b to a");
            a.close().await.unwrap();
            let mut rest = Vec::new();
            b.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        })
        .await;
    }

    // Proves: `peer_cred` reports this process's uid, gid and pid (through tokio's
    // `UCred::uid()`/`gid()`/`pid()`), on both ends of a pair and on both ends of an accepted
    // connection.
    async fn peer_cred_reports_our_uid_gid_and_pid() {
        // SAFETY: getuid, getgid and getpid cannot fail and touch no memory of ours.
        let (uid, gid, pid) = unsafe { (libc::getuid(), libc::getgid(), libc::getpid()) };
        let dir = TempDir::new("uds-cred");
        let listener = UnixListener::bind(dir.join("s")).unwrap();
        let client = UnixStream::connect(dir.join("s")).await.unwrap();
        let (accepted, _) = within(LIMIT, "accept", listener.accept()).await.unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        for (what, s) in [
            ("pair a", &a),
            ("pair b", &b),
            ("client", &client),
            ("accepted", &accepted),
        ] {
            let cred = s.peer_cred().unwrap();
            assert_eq!((cred.uid(), cred.gid()), (uid, gid), "{what}");
            assert_eq!((cred.uid, cred.gid, cred.pid), (cred.uid(), cred.gid(), cred.pid()));
            if cfg!(any(target_os = "linux", target_os = "android")) {
                assert_eq!(cred.pid(), Some(pid), "{what}");
            }
        }
    }

    // Proves: `UnixListener::incoming()` yields each connection once, carrying its data.
    async fn incoming_yields_each_unix_connection() {
        let dir = TempDir::new("uds-incoming");
        let path = dir.join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let clients: Vec<_> = (0..4u8)
            .map(|i| {
                let path = path.clone();
                runtime::spawn(async move {
                    let mut s = UnixStream::connect(path).await.unwrap();
                    s.write_all(&[i]).await.unwrap();
                    s
                })
            })
            .collect();
        within(LIMIT, "incoming", async {
            let mut incoming = listener.incoming();
            let mut seen = Vec::new();
            for _ in 0..4 {
                let mut s = incoming.next().await.expect("never ends").unwrap();
                let mut id = [0];
                s.read_exact(&mut id).await.unwrap();
                seen.push(id[0]);
            }
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2, 3]);
            for c in clients {
                c.await.unwrap();
            }
        })
        .await;
    }

    // Proves: connecting to a path where nothing exists is `NotFound`; to a socket file whose
    // listener is gone (a stale file) is `ConnectionRefused`.
    async fn connecting_where_nothing_listens_fails_with_the_right_kind() {
        let dir = TempDir::new("uds-refused");
        let err = UnixStream::connect(dir.join("missing")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let stale = dir.join("stale");
        drop(UnixListener::bind(&stale).unwrap());
        assert!(stale.exists(), "the listener leaves its file behind");
        let err = UnixStream::connect(&stale).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }
}
