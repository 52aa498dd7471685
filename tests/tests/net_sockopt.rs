//! Socket options as tokio names them: `TcpSocket::set_keepalive`/`keepalive`,
//! `set_linger`/`linger` on `TcpSocket` and `TcpStream` (whole seconds, a fraction rounded
//! up, out of range `InvalidInput`), a zero linger that resets the connection on close, and
//! `take_error` reporting and clearing a pending socket error.

use std::io;
use std::time::Duration;

use futures_util::io::AsyncReadExt;
use net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use tests::net::within;
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = futures_util::join!(client, listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

rt_test! {
    // Proves: keepalive is off until set and reads back what was set.
    async fn tcp_socket_keepalive_round_trips() {
        let socket = TcpSocket::new_v4().unwrap();
        assert!(!socket.keepalive().unwrap());
        socket.set_keepalive(true).unwrap();
        assert!(socket.keepalive().unwrap());
        socket.set_keepalive(false).unwrap();
        assert!(!socket.keepalive().unwrap());
    }

    // Proves: linger is off until set, reads back in whole seconds (a fraction rounds up, so
    // 1.5 s is 2 s and never the resetting 0), turns off with `None`, and a duration too long
    // for the kernel is `InvalidInput`, on both the socket and the stream.
    async fn linger_round_trips_on_socket_and_stream() {
        let socket = TcpSocket::new_v4().unwrap();
        assert_eq!(socket.linger().unwrap(), None);
        socket.set_linger(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(5)));
        socket.set_linger(Some(Duration::from_millis(1500))).unwrap();
        assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(2)));
        socket.set_linger(None).unwrap();
        assert_eq!(socket.linger().unwrap(), None);
        let err = socket.set_linger(Some(Duration::MAX)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

        let (stream, _peer) = tcp_pair().await;
        assert_eq!(stream.linger().unwrap(), None);
        stream.set_linger(Some(Duration::ZERO)).unwrap();
        assert_eq!(stream.linger().unwrap(), Some(Duration::ZERO));
        let err = stream.set_linger(Some(Duration::MAX)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    // Proves: a stream closed with a zero linger resets the connection: the peer's pending
    // error is `ConnectionReset`, which `take_error` returns once and then clears.
    async fn zero_linger_resets_and_take_error_reports_it_once() {
        let (stream, peer) = tcp_pair().await;
        assert!(peer.take_error().unwrap().is_none());
        stream.set_linger(Some(Duration::ZERO)).unwrap();
        drop(stream);
        within(LIMIT, "the reset arrives", peer.readable()).await.unwrap();
        let err = peer.take_error().unwrap().expect("a pending error after the reset");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        assert!(peer.take_error().unwrap().is_none());
    }

    // Proves: a connected UDP socket's refused send shows up in `take_error` as
    // `ConnectionRefused` (the ICMP error loopback sends back), and sockets with nothing
    // pending report `None`.
    async fn take_error_on_the_other_socket_kinds() {
        let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let gone_addr = gone.local_addr().unwrap();
        drop(gone);
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(udp.take_error().unwrap().is_none());
        udp.connect(gone_addr).await.unwrap();
        udp.send(b"x").await.unwrap();
        let err = within(LIMIT, "the ICMP error arrives", async {
            loop {
                if let Some(err) = udp.take_error().unwrap() {
                    break err;
                }
                runtime::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

        let (a, mut b) = UnixStream::pair().unwrap();
        assert!(a.take_error().unwrap().is_none());
        drop(a);
        let mut buf = Vec::new();
        within(LIMIT, "end of stream", b.read_to_end(&mut buf)).await.unwrap();
        assert!(b.take_error().unwrap().is_none());
        let (c, _d) = UnixDatagram::pair().unwrap();
        assert!(c.take_error().unwrap().is_none());
        assert!(TcpSocket::new_v4().unwrap().take_error().unwrap().is_none());
        let tcp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert!(tcp_listener.take_error().unwrap().is_none());
        // A directory per case: both flavors run this case at once in one process.
        let temp = tests::net::TempDir::new("sockopt_listener");
        let unix_listener = UnixListener::bind(temp.path().join("l")).unwrap();
        assert!(unix_listener.take_error().unwrap().is_none());
    }
}
