//! Every net socket is close-on-exec and non-blocking from birth: the flags as `fcntl`
//! reports them, and the descriptor table of a child process started while they are open.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use tests::net::{TempDir, child_fd_table, cloexec_nonblock, fd_target, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

/// One of each net socket kind, kept open together.
struct Zoo {
    _dir: TempDir,
    sockets: Vec<(&'static str, Box<dyn AsFd>)>,
}

async fn every_kind_of_socket() -> Zoo {
    let dir = TempDir::new("net-cloexec");
    let mut sockets: Vec<(&'static str, Box<dyn AsFd>)> = Vec::new();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (accepted, _) = within(LIMIT, "tcp accept", listener.accept())
        .await
        .unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    sockets.push(("TcpListener::bind", Box::new(listener)));
    sockets.push(("TcpStream::connect", Box::new(client)));
    sockets.push(("accepted TcpStream", Box::new(accepted)));
    sockets.push((
        "TcpListener::from_std",
        Box::new(TcpListener::from_std(std_listener).unwrap()),
    ));
    sockets.push(("TcpSocket::new_v4", Box::new(TcpSocket::new_v4().unwrap())));

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let connected = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    connected.connect(udp.local_addr().unwrap()).await.unwrap();
    sockets.push(("UdpSocket::bind", Box::new(udp)));
    sockets.push(("connected UdpSocket", Box::new(connected)));
    let group = std::net::Ipv4Addr::new(239, 255, (std::process::id() % 251) as u8 + 1, 77);
    match UdpSocket::bind_multicast_v4(group, 0, std::net::Ipv4Addr::LOCALHOST) {
        Ok(r) => sockets.push(("UdpSocket::bind_multicast_v4", Box::new(r))),
        Err(e) => println!("skipped the multicast receiver: the join failed: {e}"),
    }

    let path = dir.join("l");
    let unix_listener = UnixListener::bind(&path).unwrap();
    let unix_client = UnixStream::connect(&path).await.unwrap();
    let (unix_accepted, _) = within(LIMIT, "unix accept", unix_listener.accept())
        .await
        .unwrap();
    let (pa, pb) = UnixStream::pair().unwrap();
    sockets.push(("UnixListener::bind", Box::new(unix_listener)));
    sockets.push(("UnixStream::connect", Box::new(unix_client)));
    sockets.push(("accepted UnixStream", Box::new(unix_accepted)));
    sockets.push(("UnixStream::pair", Box::new(pa)));
    sockets.push(("UnixStream::pair", Box::new(pb)));

    let (da, db) = UnixDatagram::pair().unwrap();
    sockets.push((
        "UnixDatagram::bind",
        Box::new(UnixDatagram::bind(dir.join("d")).unwrap()),
    ));
    sockets.push((
        "UnixDatagram::unbound",
        Box::new(UnixDatagram::unbound().unwrap()),
    ));
    sockets.push(("UnixDatagram::pair", Box::new(da)));
    sockets.push(("UnixDatagram::pair", Box::new(db)));
    Zoo { _dir: dir, sockets }
}

rt_test! {
    // Proves: every kind of net socket (listeners, connected, accepted and paired streams,
    // UDP unicast/connected/multicast, Unix datagrams, adopted std sockets) has FD_CLOEXEC and
    // O_NONBLOCK set.
    async fn every_net_socket_is_cloexec_and_nonblocking() {
        let zoo = every_kind_of_socket().await;
        for (what, socket) in &zoo.sockets {
            assert_eq!(
                cloexec_nonblock(socket),
                (true, true),
                "{what}: (CLOEXEC, NONBLOCK)"
            );
        }
    }

    // Proves: a child process started while every kind of net socket is open inherits none of
    // them: no `(fd, target)` pair of ours appears in the child's `/proc/self/fd`.
    async fn a_child_process_inherits_no_net_socket() {
        let zoo = every_kind_of_socket().await;
        let ours: Vec<(&str, RawFd, String)> = zoo
            .sockets
            .iter()
            .map(|(what, s)| {
                let fd = s.as_fd().as_raw_fd();
                (*what, fd, fd_target(fd))
            })
            .collect();
        let child = child_fd_table();
        assert!(!child.is_empty(), "the child listed no descriptors at all");
        for (what, fd, target) in ours {
            assert!(
                !child.contains(&(fd, target.clone())),
                "{what} (fd {fd} -> {target}) leaked into a child process"
            );
        }
    }

    // Proves the check above can fail: a descriptor without close-on-exec (a `dup` of a net
    // socket; `dup` never copies FD_CLOEXEC) does show up in the child with its number and
    // target, while the original, close-on-exec, does not.
    async fn the_child_fd_check_sees_an_inherited_descriptor() {
        let (a, _b) = UnixStream::pair().unwrap();
        // SAFETY: `a` is a live socket; dup returns a new descriptor (or -1) that we own.
        let raw = unsafe { libc::dup(a.as_raw_fd()) };
        assert!(raw >= 0, "dup: {}", std::io::Error::last_os_error());
        // SAFETY: `raw` is a fresh descriptor owned by nothing else.
        let inheritable = unsafe { OwnedFd::from_raw_fd(raw) };
        let borrowed: BorrowedFd<'_> = inheritable.as_fd();
        assert!(!cloexec_nonblock(&borrowed).0, "dup clears FD_CLOEXEC");
        let child = child_fd_table();
        let target = fd_target(raw);
        assert!(
            child.contains(&(raw, target.clone())),
            "the child misses fd {raw} -> {target}"
        );
        assert!(
            !child.contains(&(a.as_raw_fd(), target)),
            "the original leaked"
        );
    }
}
