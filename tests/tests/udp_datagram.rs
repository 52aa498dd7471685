//! UDP on 127.0.0.1: round trips, datagram boundaries up to the IPv4 maximum, oversize
//! sends, many receivers on one shared socket, connected sockets, `peek_from`.

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use net::UdpSocket;
use tests::net::{assert_same_bytes, payload, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

/// The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header).
const MAX_V4: usize = 65_507;

async fn pair() -> (UdpSocket, UdpSocket) {
    (
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    )
}

rt_test! {
    // Proves: a datagram sent with `send_to` arrives whole through `recv_from`, which reports
    // the sender's address; and the reply goes back the same way.
    async fn send_to_and_recv_from_round_trip_with_the_senders_address() {
        let (a, b) = pair().await;
        within(LIMIT, "round trip", async {
            a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
            let mut buf = [0; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
            b.send_to(b"pong", from).await.unwrap();
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"pong"[..], b.local_addr().unwrap()));
        })
        .await;
    }

    // Proves: datagrams of 0, 1, 1472 and 65507 bytes each arrive as exactly one datagram of
    // that size and content: each is followed by a 3-byte marker that must arrive on its own,
    // so neither a merge with the next datagram nor a split or truncation goes unnoticed.
    async fn each_datagram_arrives_whole_and_alone_up_to_the_ipv4_maximum() {
        let (a, b) = pair().await;
        let to = b.local_addr().unwrap();
        let mut buf = vec![0; 70_000];
        within(LIMIT, "datagram boundaries", async {
            for size in [0, 1, 1472, MAX_V4] {
                let data = payload(size as u64, size);
                assert_eq!(a.send_to(&data, to).await.unwrap(), size);
                a.send_to(b"end", to).await.unwrap();
                let (n, _) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!(n, size, "a {size}-byte datagram arrived as {n} bytes");
                assert_same_bytes(&buf[..n], &data, &format!("{size}-byte datagram"));
                let (n, _) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"end", "the marker after {size} bytes");
            }
        })
        .await;
    }

    // Proves: a datagram one byte over the IPv4 maximum is an error (`EMSGSIZE`) from
    // `send_to` and from a connected `send`, not a panic and not a silent truncation; the
    // socket keeps working afterwards.
    async fn an_oversize_datagram_is_an_error() {
        let (a, b) = pair().await;
        let to = b.local_addr().unwrap();
        let big = vec![7; MAX_V4 + 1];
        let err = a.send_to(&big, to).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "send_to: {err}");
        a.connect(to).await.unwrap();
        let err = a.send(&big).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "send: {err}");
        within(LIMIT, "send after the error", async {
            a.send(b"still fine").await.unwrap();
            let mut buf = [0; 64];
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"still fine");
        })
        .await;
    }

    // Proves: several tasks receiving on one shared `Arc<UdpSocket>` together receive every
    // datagram exactly once, and each of them is woken for its share.
    // Races: the receivers all wait for readability of one descriptor:
    //   1. the sender sends numbered datagrams, at most WINDOW ahead of what was received
    //      (so the receive buffer never overflows and drops one);
    //   2. every readable edge wakes the waiting receivers; each `recv_from` takes one
    //      datagram or sees `WouldBlock` and waits again;
    //   3. the sender finally sends one "stop" per receiver; datagrams queue in order, so
    //      each receiver stops only after all numbered ones were taken.
    // A lost wakeup hangs (caught by the limit); a datagram handed to two tasks, or lost,
    // fails the set comparison; a receiver that is never woken never takes its "stop".
    async fn tasks_sharing_one_socket_receive_each_datagram_once() {
        const RECEIVERS: usize = 4;
        const WINDOW: usize = 32;
        let count = tests::rt::soak(10_000).max(500);
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let to = socket.local_addr().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));

        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let (socket, received, seen) = (socket.clone(), received.clone(), seen.clone());
                runtime::spawn(async move {
                    let mut buf = [0; 16];
                    let mut mine = 0;
                    loop {
                        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                        if &buf[..n] == b"stop" {
                            return mine;
                        }
                        let i = u32::from_le_bytes(buf[..4].try_into().unwrap());
                        seen.lock().unwrap().push(i);
                        received.fetch_add(1, Ordering::SeqCst);
                        mine += 1;
                    }
                })
            })
            .collect();

        within(LIMIT, "shared receivers", async {
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for i in 0..count as u32 {
                while i as usize >= received.load(Ordering::SeqCst) + WINDOW {
                    runtime::time::sleep(Duration::from_millis(1)).await;
                }
                sender.send_to(&i.to_le_bytes(), to).await.unwrap();
            }
            while received.load(Ordering::SeqCst) < count {
                runtime::time::sleep(Duration::from_millis(1)).await;
            }
            for _ in 0..RECEIVERS {
                sender.send_to(b"stop", to).await.unwrap();
            }
            let mut total = 0;
            for r in receivers {
                total += r.await.unwrap();
            }
            assert_eq!(total, count);
        })
        .await;

        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(seen.len(), count, "datagrams received (with repeats)");
        let unique: BTreeSet<u32> = seen.into_iter().collect();
        assert_eq!(
            unique,
            (0..count as u32).collect(),
            "each datagram exactly once"
        );
    }

    // Proves: after `connect`, `send` and `recv` talk to that peer only: `peer_addr` names it,
    // and a datagram from a third socket is filtered out (it was sent first, so without the
    // filter it would be the one `recv` returns).
    async fn connected_sockets_send_and_recv_with_their_peer_only() {
        let (a, b) = pair().await;
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        assert_eq!(b.peer_addr().unwrap(), a_addr);

        within(LIMIT, "connected exchange", async {
            stranger.send_to(b"intruder", a_addr).await.unwrap();
            b.send(b"from b").await.unwrap();
            let mut buf = [0; 64];
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from b");
            a.send(b"from a").await.unwrap();
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from a");
        })
        .await;
        let unconnected = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = unconnected.peer_addr().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
    }

    // Proves: `peek_from` returns the datagram and its sender but leaves it queued: a second
    // peek and then `recv_from` see the same datagram, and the next datagram comes after it.
    async fn peek_from_leaves_the_datagram_queued() {
        let (a, b) = pair().await;
        let to = b.local_addr().unwrap();
        a.send_to(b"first", to).await.unwrap();
        a.send_to(b"second", to).await.unwrap();
        within(LIMIT, "peek_from", async {
            let mut buf = [0; 64];
            for _ in 0..2 {
                let (n, from) = b.peek_from(&mut buf).await.unwrap();
                assert_eq!((&buf[..n], from), (&b"first"[..], a.local_addr().unwrap()));
            }
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"first");
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"second");
        })
        .await;
    }
}
