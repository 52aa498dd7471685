//! Unix datagram sockets: `bind`, `unbound`, `pair`, `connect`, `send_to`/`recv_from`
//! with the sender's address, and datagram boundaries.

use std::io;
use std::time::Duration;

use net::UnixDatagram;
use tests::net::{TempDir, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

rt_test! {
    // Proves: `send_to` a bound path delivers the datagram, and `recv_from` reports the
    // sender's own bound path, so the receiver can reply with `send_to` to it.
    async fn send_to_and_recv_from_report_the_senders_path() {
        let dir = TempDir::new("uds-dgram");
        let (a_path, b_path) = (dir.join("a"), dir.join("b"));
        let a = UnixDatagram::bind(&a_path).unwrap();
        let b = UnixDatagram::bind(&b_path).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(&*a_path));
        within(LIMIT, "datagram exchange", async {
            assert_eq!(a.send_to(b"hello", &b_path).await.unwrap(), 5);
            let mut buf = [0; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(from.as_pathname(), Some(&*a_path));
            let reply_to = from.as_pathname().unwrap().to_owned();
            b.send_to(b"reply", reply_to).await.unwrap();
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(
                (&buf[..n], from.as_pathname()),
                (&b"reply"[..], Some(&*b_path))
            );
        })
        .await;
    }

    // Proves: an unbound socket can send to a bound one, and the receiver sees an unnamed
    // sender; datagram boundaries hold (two sends are two receives, an empty datagram is one).
    async fn an_unbound_sender_is_unnamed_and_boundaries_hold() {
        let dir = TempDir::new("uds-unbound");
        let path = dir.join("rx");
        let rx = UnixDatagram::bind(&path).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        assert!(tx.local_addr().unwrap().is_unnamed());
        within(LIMIT, "unbound sender", async {
            for msg in [&b"one"[..], b"", b"three"] {
                tx.send_to(msg, &path).await.unwrap();
            }
            let mut buf = [0; 64];
            for want in [&b"one"[..], b"", b"three"] {
                let (n, from) = rx.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], want);
                assert!(from.is_unnamed(), "{from:?}");
            }
        })
        .await;
    }

    // Proves: `pair()` gives two connected sockets: `send`/`recv` both ways, and `recv_from`
    // on one reports the other as unnamed.
    async fn pair_sends_and_receives_both_ways() {
        let (a, b) = UnixDatagram::pair().unwrap();
        within(LIMIT, "pair", async {
            a.send(b"ab").await.unwrap();
            b.send(b"ba").await.unwrap();
            let mut buf = [0; 8];
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ab");
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ba");
            a.send(b"again").await.unwrap();
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"again");
            assert!(from.is_unnamed(), "{from:?}");
        })
        .await;
    }

    // Proves: `connect` (sync) fixes the peer: `send`/`recv` use it and `peer_addr` names it;
    // sending unconnected with `send` is an error, not a panic; connecting to a missing path
    // is `NotFound`.
    async fn connect_fixes_the_peer_for_send_and_recv() {
        let dir = TempDir::new("uds-connect");
        let server_path = dir.join("server");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(dir.join("client")).unwrap();
        let err = client.send(b"nowhere").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
        client.connect(&server_path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(&*server_path)
        );
        within(LIMIT, "connected datagrams", async {
            client.send(b"request").await.unwrap();
            let mut buf = [0; 64];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"request");
            server
                .send_to(b"response", from.as_pathname().unwrap())
                .await
                .unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"response");
        })
        .await;
        let err = client.connect(dir.join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    }

    /// Proves that a hang-up the kernel reports together with `EAGAIN` cannot spin the loop:
    /// after `shutdown(Read)` a Unix datagram socket is "read-closed" (EPOLLRDHUP) but `recv`
    /// returns `EAGAIN`, not 0. The `WouldBlock` must clear the closed bit too, so the recv
    /// waits and the enclosing timeout fires (before the fix the loop retried forever and the
    /// timer never ran).
    async fn read_shutdown_with_eagain_waits_instead_of_spinning() {
        let (a, _b) = net::UnixDatagram::pair().unwrap();
        a.shutdown(std::net::Shutdown::Read).unwrap();
        let mut buf = [0u8; 16];
        let waited =
            runtime::time::timeout(std::time::Duration::from_millis(50), a.recv(&mut buf)).await;
        assert!(
            waited.is_err(),
            "recv returned {waited:?} instead of waiting"
        );
    }
}
