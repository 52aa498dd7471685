//! DESIGN.md's reuse table, read back from the kernel with `getsockopt` on every kind of
//! net socket: reuse options are on only for stream listeners, multicast receivers and an
//! explicit `TcpSocket` opt-in; and what that means for a second bind of a used port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use tests::net::{TempDir, reuse_options, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);
const ON_OFF: (bool, bool) = (true, false);
const ON_ON: (bool, bool) = (true, true);
const OFF_OFF: (bool, bool) = (false, false);

fn group() -> Ipv4Addr {
    Ipv4Addr::new(239, 255, (std::process::id() % 251) as u8 + 1, 99)
}

rt_test! {
    // Proves: TCP rows of the table: a default `TcpListener::bind` has SO_REUSEADDR on and
    // SO_REUSEPORT off; a `TcpSocket` has nothing until asked, and gets exactly what it asks
    // for (reuseport with or without reuseaddr), also after `listen`; a connecting client has
    // neither.
    async fn tcp_sockets_follow_the_reuse_table() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(reuse_options(&listener), ON_OFF, "TcpListener::bind");

        let fresh = TcpSocket::new_v4().unwrap();
        assert_eq!(reuse_options(&fresh), OFF_OFF, "TcpSocket::new_v4");

        for reuseaddr in [true, false] {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(reuseaddr).unwrap();
            socket.set_reuseport(true).unwrap();
            assert_eq!(
                reuse_options(&socket),
                (reuseaddr, true),
                "TcpSocket as asked"
            );
            assert_eq!(
                (socket.reuseaddr().unwrap(), socket.reuseport().unwrap()),
                (reuseaddr, true)
            );
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let sharded = socket.listen(16).unwrap();
            assert_eq!(
                reuse_options(&sharded),
                (reuseaddr, true),
                "listening TcpSocket"
            );
        }

        let client = within(
            LIMIT,
            "connect",
            TcpStream::connect(listener.local_addr().unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(reuse_options(&client), OFF_OFF, "TcpStream::connect");
    }

    // Proves: two `TcpSocket`s that both opt in to SO_REUSEPORT can listen on one port (the
    // sharding use), which a default listener cannot (next test).
    async fn two_reuseport_tcp_sockets_share_a_port() {
        let first = TcpSocket::new_v4().unwrap();
        first.set_reuseport(true).unwrap();
        first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let second = TcpSocket::new_v4().unwrap();
        second.set_reuseport(true).unwrap();
        second.bind(addr).unwrap();
        let (a, b) = (first.listen(16).unwrap(), second.listen(16).unwrap());
        assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
    }

    // Proves: because SO_REUSEPORT is off by default, a second default `TcpListener` on a port
    // that is in use fails with `AddrInUse`.
    async fn a_second_default_tcp_listener_on_a_used_port_is_addr_in_use() {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(first.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    }

    // Proves: UDP rows: unicast and wildcard binds and a connected socket have neither option;
    // a bind to a multicast group address and the multicast receiver constructor have both.
    async fn udp_sockets_follow_the_reuse_table() {
        let unicast = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(reuse_options(&unicast), OFF_OFF, "unicast bind");
        let wildcard = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        assert_eq!(reuse_options(&wildcard), OFF_OFF, "wildcard bind");
        let connected = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        connected
            .connect(unicast.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(reuse_options(&connected), OFF_OFF, "connected UDP");

        let group_bound = UdpSocket::bind((group(), 0)).await.unwrap();
        assert_eq!(
            reuse_options(&group_bound),
            ON_ON,
            "bind to a group address"
        );
        match UdpSocket::bind_multicast_v4(group(), 0, Ipv4Addr::LOCALHOST) {
            Ok(receiver) => assert_eq!(reuse_options(&receiver), ON_ON, "multicast receiver"),
            Err(e) => println!("skipped the multicast receiver row: the join failed: {e}"),
        }
    }

    // Proves: a unicast UDP bind of a port in use fails with `AddrInUse` (no reuse option is
    // set on it), for the same address and for the wildcard.
    async fn a_unicast_udp_bind_on_a_used_port_is_addr_in_use() {
        let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        for addr in [
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from(([0, 0, 0, 0], port)),
        ] {
            let err = UdpSocket::bind(addr).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{addr}: {err}");
        }
    }

    // Proves: Unix rows: a listener has SO_REUSEADDR on and SO_REUSEPORT off; connected,
    // accepted and paired streams and every kind of datagram socket have neither.
    async fn unix_sockets_follow_the_reuse_table() {
        let dir = TempDir::new("net-reuse");
        let path = dir.join("l");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(reuse_options(&listener), ON_OFF, "UnixListener::bind");
        let client = within(LIMIT, "connect", UnixStream::connect(&path))
            .await
            .unwrap();
        assert_eq!(reuse_options(&client), OFF_OFF, "UnixStream::connect");
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(reuse_options(&a), OFF_OFF, "UnixStream::pair");
        assert_eq!(reuse_options(&b), OFF_OFF, "UnixStream::pair");

        let bound = UnixDatagram::bind(dir.join("d")).unwrap();
        let unbound = UnixDatagram::unbound().unwrap();
        let (c, d) = UnixDatagram::pair().unwrap();
        for (what, s) in [
            ("bind", &bound),
            ("unbound", &unbound),
            ("pair", &c),
            ("pair", &d),
        ] {
            assert_eq!(reuse_options(s), OFF_OFF, "UnixDatagram::{what}");
        }
    }
}
