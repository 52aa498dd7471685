//! The reuse table (sys/src/sockopt.rs, DESIGN.md), read back from the kernel with
//! getsockopt, and what it means for binding a port twice.

mod util;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use sys::{Domain, Role, SockAddr, Socket, Type};
use util::{TempDir, accept, any_v4, inet_addr, tcp_connect, tcp_listener, unix_connect};

/// The table as DESIGN.md writes it: `(role, SO_REUSEADDR, SO_REUSEPORT)`.
const TABLE: [(Role, bool, bool); 5] = [
    (Role::TcpListener, true, false),
    (Role::TcpListenerReusePort, true, true),
    (Role::UnixListener, true, false),
    (Role::MulticastReceiver, true, true),
    (Role::Other, false, false),
];

/// The kind of socket each role is meant for.
fn socket_for(role: Role) -> Socket {
    let (domain, ty) = match role {
        Role::TcpListener | Role::TcpListenerReusePort => (Domain::Ipv4, Type::Stream),
        Role::UnixListener => (Domain::Unix, Type::Stream),
        Role::MulticastReceiver | Role::Other => (Domain::Ipv4, Type::Datagram),
    };
    Socket::new(domain, ty).unwrap()
}

/// `(SO_REUSEADDR, SO_REUSEPORT)` as the kernel reports them.
fn reuse_of(socket: &Socket) -> (bool, bool) {
    (socket.reuseaddr().unwrap(), socket.reuseport().unwrap())
}

#[test]
fn each_role_sets_exactly_its_row_of_the_table() {
    // Proves apply_reuse_policy(role) leaves the kernel with the table's options for
    // every role, on the kind of socket the role is for, and Role::reuse_options agrees.
    for (role, addr, port) in TABLE {
        assert_eq!(role.reuse_options(), (addr, port), "{role:?}");
        let socket = socket_for(role);
        socket.apply_reuse_policy(role).unwrap();
        assert_eq!(
            reuse_of(&socket),
            (addr, port),
            "{role:?} (reuseaddr, reuseport)"
        );
    }
}

#[test]
fn other_role_sets_nothing_on_any_kind_of_socket() {
    // Proves Role::Other turns on neither option, whatever the socket is.
    let kinds = [
        (Domain::Ipv4, Type::Stream),
        (Domain::Ipv4, Type::Datagram),
        (Domain::Ipv6, Type::Stream),
        (Domain::Ipv6, Type::Datagram),
        (Domain::Unix, Type::Stream),
        (Domain::Unix, Type::Datagram),
    ];
    for (domain, ty) in kinds {
        let Ok(socket) = Socket::new(domain, ty) else {
            eprintln!("skipping {domain:?} {ty:?}: cannot create it here");
            continue;
        };
        socket.apply_reuse_policy(Role::Other).unwrap();
        assert_eq!(reuse_of(&socket), (false, false), "{domain:?} {ty:?}");
    }
}

#[test]
fn sockets_without_a_role_have_no_reuse_option() {
    // Proves no creation path turns a reuse option on by itself: fresh TCP, UDP, Unix
    // stream and datagram sockets, both ends of each socket pair, connected clients, and
    // sockets accepted (TCP and Unix) from listeners given no role all read back (off, off).
    let mut sockets = vec![
        ("tcp", Socket::new(Domain::Ipv4, Type::Stream).unwrap()),
        ("udp", Socket::new(Domain::Ipv4, Type::Datagram).unwrap()),
        (
            "unix stream",
            Socket::new(Domain::Unix, Type::Stream).unwrap(),
        ),
        (
            "unix dgram",
            Socket::new(Domain::Unix, Type::Datagram).unwrap(),
        ),
    ];
    for ty in [Type::Stream, Type::Datagram] {
        let (a, b) = Socket::pair(ty).unwrap();
        sockets.extend([("pair end a", a), ("pair end b", b)]);
    }
    let tcp = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    tcp.bind(&any_v4()).unwrap();
    tcp.listen(8).unwrap();
    let tcp_client = tcp_connect(inet_addr(&tcp));
    let tcp_accepted = accept(&tcp);
    sockets.extend([("tcp client", tcp_client), ("tcp accepted", tcp_accepted)]);
    let dir = TempDir::new();
    let path = dir.join("reuse.sock");
    let unix = Socket::new(Domain::Unix, Type::Stream).unwrap();
    unix.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    unix.listen(8).unwrap();
    let unix_client = unix_connect(&path);
    let unix_accepted = accept(&unix);
    sockets.extend([
        ("unix client", unix_client),
        ("unix accepted", unix_accepted),
    ]);
    for (what, socket) in &sockets {
        assert_eq!(reuse_of(socket), (false, false), "{what}");
    }
}

#[test]
fn accepted_tcp_sockets_carry_exactly_their_listeners_options() {
    // Proves accept adds no reuse option of its own: an accepted TCP socket reads back
    // its listener's row. The kernel copies the listener's options into the accepted
    // socket, and that copy is what lets a restarted server rebind its port while old
    // connections linger (in TIME_WAIT), so it is the behaviour we want, not a leak.
    for role in [Role::TcpListener, Role::TcpListenerReusePort] {
        let listener = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
        listener.apply_reuse_policy(role).unwrap();
        listener.bind(&any_v4()).unwrap();
        listener.listen(8).unwrap();
        let client = tcp_connect(inet_addr(&listener));
        let accepted = accept(&listener);
        assert_eq!(
            reuse_of(&accepted),
            role.reuse_options(),
            "{role:?} accepted"
        );
        assert_eq!(reuse_of(&client), (false, false), "{role:?} client");
    }
}

#[test]
fn second_tcp_listener_on_a_listening_port_is_addr_in_use() {
    // Proves SO_REUSEADDR alone (the TcpListener role) does not let a second socket bind
    // a port another socket is listening on: only the explicit reuse-port role shares.
    let (_first, addr) = tcp_listener();
    let second = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    second.apply_reuse_policy(Role::TcpListener).unwrap();
    let err = second.bind(&SockAddr::from_inet(addr)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
}

#[test]
fn multicast_receivers_share_a_port() {
    // Proves two MulticastReceiver-role UDP sockets bind the same group address and port.
    let group = Ipv4Addr::new(239, 255, 77, 1);
    let first = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    first.apply_reuse_policy(Role::MulticastReceiver).unwrap();
    first
        .bind(&SockAddr::from_inet(SocketAddr::from((group, 0))))
        .unwrap();
    let addr = inet_addr(&first);
    assert_eq!(addr.ip(), group);

    let second = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    second.apply_reuse_policy(Role::MulticastReceiver).unwrap();
    second.bind(&SockAddr::from_inet(addr)).unwrap();
    assert_eq!(inet_addr(&second), addr);
}

#[test]
fn other_role_udp_sockets_cannot_share_a_port() {
    // Proves plain UDP sockets (Role::Other) keep their port to themselves: a second bind
    // of the same 127.0.0.1 port is AddrInUse.
    let first = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    first.apply_reuse_policy(Role::Other).unwrap();
    first.bind(&any_v4()).unwrap();
    let second = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    second.apply_reuse_policy(Role::Other).unwrap();
    let err = second
        .bind(&SockAddr::from_inet(inet_addr(&first)))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
}

#[test]
fn reuse_port_listeners_share_a_listening_port() {
    // Proves the explicit opt-in is what shares a TCP port: two TcpListenerReusePort
    // sockets both bind and listen on one 127.0.0.1 port (the counterpart of the
    // AddrInUse test above).
    let first = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    first
        .apply_reuse_policy(Role::TcpListenerReusePort)
        .unwrap();
    first.bind(&any_v4()).unwrap();
    first.listen(8).unwrap();
    let second = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    second
        .apply_reuse_policy(Role::TcpListenerReusePort)
        .unwrap();
    second
        .bind(&SockAddr::from_inet(inet_addr(&first)))
        .unwrap();
    second.listen(8).unwrap();
}
