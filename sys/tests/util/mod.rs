//! Helpers shared by the sys integration tests: descriptor flag assertions, loopback
//! socket setup, a bounded wait for readiness, and a self-removing temporary directory.
//!
//! Every wait here is bounded (see [`LIMIT`]) so a broken poller fails a test instead of
//! hanging the suite.

#![allow(
    dead_code,
    reason = "each test file is its own crate and uses a different subset of the helpers"
)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sys::{Domain, Events, Interest, Poller, Readiness, Role, SockAddr, Socket, Token, Type};

/// How long any helper waits for something that should happen at once: a hang detector,
/// not a speed assertion.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Asserts FD_CLOEXEC is set on `fd`.
#[track_caller]
pub fn assert_cloexec(fd: impl AsFd) {
    let fd = fd.as_fd();
    let raw = fd.as_raw_fd();
    assert!(
        sys::is_cloexec(fd).expect("F_GETFD"),
        "fd {raw} lacks FD_CLOEXEC"
    );
}

/// Asserts O_NONBLOCK is set on `fd`.
#[track_caller]
pub fn assert_nonblocking(fd: impl AsFd) {
    let fd = fd.as_fd();
    let raw = fd.as_raw_fd();
    assert!(
        sys::is_nonblocking(fd).expect("F_GETFL"),
        "fd {raw} lacks O_NONBLOCK"
    );
}

/// Asserts `fd` is a socket as sys hands them out: close-on-exec and non-blocking.
#[track_caller]
pub fn assert_socket_flags(fd: impl AsFd) {
    let fd = fd.as_fd();
    assert_cloexec(fd);
    assert_nonblocking(fd);
}

/// `127.0.0.1:0`.
pub fn any_v4() -> SockAddr {
    SockAddr::from_inet(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
}

/// `[::1]:0`.
pub fn any_v6() -> SockAddr {
    SockAddr::from_inet(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)))
}

/// The IP address `socket` is bound to.
pub fn inet_addr(socket: &Socket) -> SocketAddr {
    let addr = socket.local_addr().expect("getsockname");
    addr.as_inet().expect("an IP socket")
}

/// A socket bound to `[::1]:0`, or `None` (with the reason printed) when this machine
/// has no IPv6 loopback.
pub fn bound_v6(ty: Type) -> Option<Socket> {
    let socket = match Socket::new(Domain::Ipv6, ty) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
            eprintln!("skipping the IPv6 part: no IPv6 sockets here ({e})");
            return None;
        }
        Err(e) => panic!("IPv6 socket: {e}"),
    };
    match socket.bind(&any_v6()) {
        Ok(()) => Some(socket),
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
            eprintln!("skipping the IPv6 part: no ::1 here ({e})");
            None
        }
        Err(e) => panic!("bind [::1]:0: {e}"),
    }
}

/// A listening TCP socket on `127.0.0.1` with the listener role, and its address.
pub fn tcp_listener() -> (Socket, SocketAddr) {
    let listener = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    listener.apply_reuse_policy(Role::TcpListener).unwrap();
    listener.bind(&any_v4()).unwrap();
    listener.listen(128).unwrap();
    let addr = inet_addr(&listener);
    (listener, addr)
}

/// A UDP socket bound to `127.0.0.1:0`, and its address.
pub fn udp_v4() -> (Socket, SocketAddr) {
    let socket = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    socket.bind(&any_v4()).unwrap();
    let addr = inet_addr(&socket);
    (socket, addr)
}

/// Starts a TCP connect to `addr` and waits until it is established.
pub fn tcp_connect(addr: SocketAddr) -> Socket {
    let socket = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    if !socket.connect(&SockAddr::from_inet(addr)).unwrap() {
        wait_ready(&socket, Interest::WRITABLE);
    }
    if let Some(e) = socket.take_error().unwrap() {
        panic!("connect to {addr}: {e}");
    }
    socket
}

/// Accepts one connection, waiting (bounded) for it to arrive.
pub fn accept(listener: &Socket) -> Socket {
    let deadline = Instant::now() + LIMIT;
    loop {
        match listener.accept() {
            Ok((socket, _)) => return socket,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection to accept");
                wait_ready(listener, Interest::READABLE);
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A connected loopback TCP pair: `(client, accepted)`, plus the listener.
pub fn tcp_pair() -> (Socket, Socket, Socket) {
    let (listener, addr) = tcp_listener();
    let client = tcp_connect(addr);
    let accepted = accept(&listener);
    (client, accepted, listener)
}

/// Waits (bounded) on a poller of its own until `fd` is ready in a direction of
/// `interest`, and returns what was reported.
pub fn wait_ready(fd: &impl AsRawFd, interest: Interest) -> Readiness {
    let poller = Poller::new().unwrap();
    poller.register(fd.as_raw_fd(), Token(0), interest).unwrap();
    let mut events = Events::with_capacity(4);
    let wanted = |r: Readiness| {
        (interest.is_readable() && r.is_readable()) || (interest.is_writable() && r.is_writable())
    };
    let readiness = wait_for(&poller, &mut events, Token(0), wanted);
    poller.deregister(fd.as_raw_fd()).unwrap();
    readiness
}

/// Waits (bounded) until `poller` reports `token` with readiness that satisfies `wanted`,
/// and returns that readiness; events for other tokens, or that fail `wanted`, are skipped.
#[track_caller]
pub fn wait_for(
    poller: &Poller,
    events: &mut Events,
    token: Token,
    wanted: impl Fn(Readiness) -> bool,
) -> Readiness {
    let deadline = Instant::now() + LIMIT;
    loop {
        let rest = deadline.saturating_duration_since(Instant::now());
        assert!(
            !rest.is_zero(),
            "{token:?} was not reported within {LIMIT:?}"
        );
        poller.wait(events, Some(rest)).expect("Poller::wait");
        if let Some(e) = events
            .iter()
            .find(|e| e.token == token && wanted(e.readiness))
        {
            return e.readiness;
        }
    }
}

/// The events `poller` reports within `timeout`, collected.
pub fn events_within(poller: &Poller, timeout: Duration) -> Vec<sys::Event> {
    let mut events = Events::with_capacity(16);
    poller
        .wait(&mut events, Some(timeout))
        .expect("Poller::wait");
    events.iter().collect()
}

/// A directory under the system temp dir with a name no other test (or run) shares,
/// removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the directory.
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "sys-tests-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).expect("create the test's temp dir");
        TempDir(path)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A listening Unix stream socket at `dir/name` with the listener role.
pub fn unix_listener(dir: &TempDir, name: &str) -> (Socket, PathBuf) {
    let path = dir.join(name);
    let listener = Socket::new(Domain::Unix, Type::Stream).unwrap();
    listener.apply_reuse_policy(Role::UnixListener).unwrap();
    listener.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    listener.listen(128).unwrap();
    (listener, path)
}

/// Connects a Unix stream socket to `path` (a local connect completes at once).
pub fn unix_connect(path: &Path) -> Socket {
    let socket = Socket::new(Domain::Unix, Type::Stream).unwrap();
    socket.connect(&SockAddr::unix(path).unwrap()).unwrap();
    socket
}

/// Receives exactly `len` bytes (bounded wait), for streams that may deliver in pieces.
pub fn recv_exact(socket: &Socket, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    let mut filled = 0;
    let deadline = Instant::now() + LIMIT;
    while filled < len {
        match socket.recv(&mut out[filled..]) {
            Ok(0) => panic!("end of stream after {filled} of {len} bytes"),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "{filled} of {len} bytes arrived");
                wait_ready(socket, Interest::READABLE);
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    out
}
