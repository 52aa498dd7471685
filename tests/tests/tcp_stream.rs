//! TCP streams end to end on 127.0.0.1: echo integrity under many concurrent connections,
//! half-close, peek, refused connects, and `incoming()` as a `Stream`.

use std::collections::BTreeSet;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream};
use tests::net::{assert_same_bytes, payload, refused_addr, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(60);

/// Each echo client's payload.
const ECHO_LEN: usize = 64 * 1024;

async fn echo_client(addr: std::net::SocketAddr, seed: u64) {
    let stream = Arc::new(TcpStream::connect(addr).await.unwrap());
    let data = Arc::new(payload(seed, ECHO_LEN));
    let writer = runtime::spawn({
        let (stream, data) = (stream.clone(), data.clone());
        async move {
            let mut w = &*stream;
            w.write_all(&data).await.unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
        }
    });
    let mut echoed = Vec::with_capacity(ECHO_LEN);
    let mut r = &*stream;
    r.read_to_end(&mut echoed).await.unwrap();
    writer.await.unwrap();
    assert_same_bytes(&echoed, &data, &format!("echo of connection {seed}"));
}

rt_test! {
    // Proves: many connections at once each get their own distinct 64 KiB payload echoed back
    // byte for byte, with the server side reading and writing one connection through
    // `&TcpStream` (`copy(&mut &s, &mut &s)`) and each client writing in one task while
    // another task reads the same `Arc<TcpStream>`.
    // Races: on every client, the writer task and the reader (this task) wait on the same
    // stream at once, one for writability and one for readability:
    //   1. the writer sends 64 KiB and then shuts its write side down;
    //   2. the server echoes as it reads and closes after end of stream;
    //   3. the reader reads to end of stream concurrently with 1.
    // A wakeup lost between the two directions hangs one connection (caught by the limit); a
    // mix-up between connections or a lost or duplicated chunk fails the byte comparison.
    async fn echo_over_many_concurrent_connections_is_byte_exact() {
        let conns = 300; // the figure: ~2 s even in a debug build
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        let server = runtime::spawn(async move {
            let mut served = Vec::with_capacity(conns);
            for _ in 0..conns {
                let (stream, _) = listener.accept().await.unwrap();
                served.push(runtime::spawn(async move {
                    let (mut r, mut w) = (&stream, &stream);
                    futures_util::io::copy(&mut r, &mut w).await.unwrap()
                }));
            }
            served
        });

        let clients: Vec<_> = (0..conns)
            .map(|i| runtime::spawn(echo_client(addr, i as u64)))
            .collect();

        within(LIMIT, "echo clients", async {
            for client in clients {
                client.await.unwrap();
            }
            for served in server.await.unwrap() {
                assert_eq!(served.await.unwrap(), ECHO_LEN as u64);
            }
        })
        .await;
    }

    // Proves: after the client shuts down its write side, the server reads the request to end
    // of stream, and the other direction still carries a whole reply (larger than the socket
    // buffers) that the client reads to end of stream; a write after the shutdown fails.
    async fn half_close_lets_the_peer_read_to_eof_and_still_reply() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let request = payload(1, 10_000);
        let reply = payload(2, 1 << 20);

        let server = runtime::spawn({
            let (request, reply) = (request.clone(), reply.clone());
            async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                stream.read_to_end(&mut got).await.unwrap();
                assert_same_bytes(&got, &request, "request read to EOF");
                stream.write_all(&reply).await.unwrap();
                // Dropping the stream closes it: the client sees end of stream.
            }
        });

        within(LIMIT, "half-close exchange", async {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&request).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let err = client.write_all(b"late").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_same_bytes(&got, &reply, "reply read to EOF");
            server.await.unwrap();
        })
        .await;
    }

    // Proves: `peek` returns queued data without consuming it: two peeks see the same bytes,
    // and a read afterwards still gets all of them.
    async fn peek_returns_data_without_consuming_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"hello world").await.unwrap();

        within(LIMIT, "peek", async {
            let mut first = [0; 64];
            let n = server.peek(&mut first).await.unwrap();
            assert!(n > 0 && b"hello world".starts_with(&first[..n]), "{n}");
            let mut second = [0; 64];
            let m = server.peek(&mut second).await.unwrap();
            assert!(m >= n, "a second peek saw less ({m} < {n})");
            assert_eq!(&second[..n], &first[..n]);
            let mut all = [0; 11];
            server.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"hello world");
        })
        .await;
    }

    // Proves: connecting to a port where nothing listens fails with `ConnectionRefused` (the
    // error arrives through SO_ERROR after the non-blocking connect).
    async fn connect_to_a_closed_port_is_connection_refused() {
        let (_held, addr) = refused_addr();
        let err = within(LIMIT, "refused connect", TcpStream::connect(addr))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }

    // Proves: `incoming()` is a `futures_core::Stream` that yields each connection once; the
    // streams it yields carry the clients' data.
    async fn incoming_yields_each_connection() {
        const CLIENTS: u8 = 5;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(&[i]).await.unwrap();
                    s
                })
            })
            .collect();

        within(LIMIT, "incoming", async {
            let mut incoming = listener.incoming();
            let mut seen = BTreeSet::new();
            for _ in 0..CLIENTS {
                let mut stream = incoming.next().await.expect("never ends").unwrap();
                let mut id = [0];
                stream.read_exact(&mut id).await.unwrap();
                assert!(seen.insert(id[0]), "client {} yielded twice", id[0]);
            }
            assert_eq!(seen, (0..CLIENTS).collect());
            for client in clients {
                client.await.unwrap();
            }
        })
        .await;
    }
}

tests::rt_test! {
    // Proves a task waiting for data holds little besides its stream: the futures of
    // `peek`, `recv`, `send` and `read_with` are a wait (two words) plus the operation's
    // borrowed arguments, not a stack of `async fn` frames (`peek`'s was 200 bytes).
    // Every idle connection's task holds one of these for as long as it idles.
    async fn waiting_futures_are_a_wait_plus_their_arguments() {
        let words = |n: usize| n * size_of::<usize>();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 1];
        // A wait (2 words) + the closure's borrows of the socket and the buffer (3).
        assert!(size_of_val(&stream.peek(&mut buf)) <= words(5));
        let udp = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(size_of_val(&udp.recv(&mut buf)) <= words(5));
        assert!(size_of_val(&udp.send(&buf)) <= words(5));
    }
}
