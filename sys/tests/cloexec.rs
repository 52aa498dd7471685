//! Every descriptor sys creates is close-on-exec from birth (and every socket is also
//! non-blocking), and a child process started while they are open inherits none of them.

mod util;

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Command;

use sys::{Domain, Poller, Role, SockAddr, Socket, Token, Type, Waker};
use util::{
    TempDir, accept, any_v4, assert_cloexec, assert_socket_flags, bound_v6, tcp_listener, tcp_pair,
    unix_connect, unix_listener,
};

#[test]
fn poller_is_cloexec() {
    // Proves the poller descriptor is born close-on-exec (on the epoll_create1 path, and
    // under `--cfg sys_force_epoll_create` on the epoll_create + FD_CLOEXEC fallback).
    let poller = Poller::new().unwrap();
    assert_cloexec(&poller);
}

#[test]
fn waker_is_cloexec() {
    // Proves the waker's descriptor (what its AsRawFd exposes) is born close-on-exec.
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, Token(1)).unwrap();
    assert_cloexec(&waker);
}

#[test]
fn tcp_stream_sockets_are_cloexec_and_nonblocking() {
    // Proves fresh TCP sockets, IPv4 and IPv6, are close-on-exec and non-blocking.
    assert_socket_flags(Socket::new(Domain::Ipv4, Type::Stream).unwrap());
    if let Some(v6) = bound_v6(Type::Stream) {
        assert_socket_flags(v6);
    }
}

#[test]
fn udp_sockets_are_cloexec_and_nonblocking() {
    // Proves fresh UDP sockets, IPv4 and IPv6, are close-on-exec and non-blocking.
    assert_socket_flags(Socket::new(Domain::Ipv4, Type::Datagram).unwrap());
    if let Some(v6) = bound_v6(Type::Datagram) {
        assert_socket_flags(v6);
    }
}

#[test]
fn unix_sockets_are_cloexec_and_nonblocking() {
    // Proves fresh Unix stream and datagram sockets are close-on-exec and non-blocking.
    assert_socket_flags(Socket::new(Domain::Unix, Type::Stream).unwrap());
    assert_socket_flags(Socket::new(Domain::Unix, Type::Datagram).unwrap());
}

#[test]
fn both_ends_of_socket_pairs_are_cloexec_and_nonblocking() {
    // Proves both ends of a stream pair and of a datagram pair carry both flags.
    for ty in [Type::Stream, Type::Datagram] {
        let (a, b) = Socket::pair(ty).unwrap();
        assert_socket_flags(a);
        assert_socket_flags(b);
    }
}

#[test]
fn accepted_tcp_socket_is_cloexec_and_nonblocking() {
    // Proves a socket returned by accept (accept4 with both flags) carries both flags,
    // whatever the listener's flags are.
    let (client, accepted, listener) = tcp_pair();
    assert_socket_flags(&listener);
    assert_socket_flags(&client);
    assert_socket_flags(&accepted);
}

#[test]
fn accepted_unix_socket_is_cloexec_and_nonblocking() {
    // Proves an accepted Unix stream socket carries both flags.
    let dir = TempDir::new();
    let (listener, path) = unix_listener(&dir, "accept.sock");
    let client = unix_connect(&path);
    let accepted = accept(&listener);
    assert_socket_flags(&client);
    assert_socket_flags(&accepted);
}

#[test]
fn child_process_inherits_no_descriptor_of_ours() {
    // Proves a child exec'd while every kind of sys descriptor is open sees none of them.
    // Steps:
    // 1. open a poller, a waker and sockets of each kind, including listeners and
    //    accepted sockets, and note each one's number and /proc/self/fd link target;
    // 2. open one deliberately inheritable descriptor (a dup without FD_CLOEXEC) as a
    //    control, so the check is shown able to see a leak;
    // 3. run `ls -l /proc/self/fd` in a child and parse "N -> target" lines;
    // 4. the child must list 0, 1, 2 and the control, and no (number, target) of ours.
    //    Numbers alone are not enough: `ls` may open its directory under a number we use.
    if !Path::new("/proc/self/fd").is_dir() {
        eprintln!("skipping: /proc/self/fd is absent, so a child cannot list its descriptors");
        return;
    }
    let dir = TempDir::new();
    let open = open_one_of_each_kind(&dir);
    let ours: BTreeMap<RawFd, String> = open.fds.iter().map(|&fd| (fd, link_of(fd))).collect();
    assert!(ours.keys().all(|&fd| fd > 2), "ours: {ours:?}");

    // SAFETY: `dup` of our live poller descriptor; the result is owned on this line.
    let control = unsafe { libc::dup(open.poller.as_raw_fd()) };
    assert!(control > 2, "dup: {}", std::io::Error::last_os_error());
    // SAFETY: `control` was just returned by dup and nothing else owns it.
    let control = unsafe { OwnedFd::from_raw_fd(control) };

    let child = child_descriptors();
    for fd in [0, 1, 2, control.as_raw_fd()] {
        assert!(child.contains_key(&fd), "child lacks fd {fd}: {child:?}");
    }
    let leaked: Vec<_> = ours
        .iter()
        .filter(|&(fd, target)| child.get(fd) == Some(target))
        .collect();
    assert!(
        leaked.is_empty(),
        "child inherited {leaked:?}; child: {child:?}"
    );
}

/// One open descriptor of every kind sys creates; `fds` lists their numbers.
struct Open {
    poller: Poller,
    _keep: (Waker, Vec<Socket>),
    fds: Vec<RawFd>,
}

fn open_one_of_each_kind(dir: &TempDir) -> Open {
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, Token(1)).unwrap();
    let mut sockets = Vec::new();
    let (tcp_listener, tcp_addr) = tcp_listener();
    let tcp_client = util::tcp_connect(tcp_addr);
    let tcp_accepted = accept(&tcp_listener);
    sockets.extend([tcp_listener, tcp_client, tcp_accepted]);
    let (unix_listener, path) = unix_listener(dir, "child.sock");
    let unix_client = unix_connect(&path);
    let unix_accepted = accept(&unix_listener);
    sockets.extend([unix_listener, unix_client, unix_accepted]);
    let udp = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    udp.bind(&any_v4()).unwrap();
    sockets.push(udp);
    sockets.extend(bound_v6(Type::Stream));
    sockets.extend(bound_v6(Type::Datagram));
    let dgram = Socket::new(Domain::Unix, Type::Datagram).unwrap();
    dgram
        .bind(&SockAddr::unix(dir.join("child.dgram")).unwrap())
        .unwrap();
    sockets.push(dgram);
    let multicast = Socket::new(Domain::Ipv4, Type::Datagram).unwrap();
    multicast
        .apply_reuse_policy(Role::MulticastReceiver)
        .unwrap();
    sockets.push(multicast);
    for ty in [Type::Stream, Type::Datagram] {
        let (a, b) = Socket::pair(ty).unwrap();
        sockets.extend([a, b]);
    }
    let mut fds = vec![poller.as_raw_fd(), waker.as_raw_fd()];
    fds.extend(sockets.iter().map(AsRawFd::as_raw_fd));
    Open {
        poller,
        _keep: (waker, sockets),
        fds,
    }
}

/// What `/proc/self/fd/N` points at, e.g. `socket:[1234]` or `anon_inode:[eventpoll]`.
fn link_of(fd: RawFd) -> String {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink");
    link.to_string_lossy().into_owned()
}

/// The child's descriptors as `number -> link target`, from `ls -l /proc/self/fd`.
fn child_descriptors() -> BTreeMap<RawFd, String> {
    let out = Command::new("ls")
        .args(["-l", "/proc/self/fd"])
        .env("LC_ALL", "C")
        .output()
        .expect("run ls");
    assert!(out.status.success(), "ls failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|line| {
            let (left, target) = line.split_once(" -> ")?;
            let number = left.rsplit(' ').next()?.parse().ok()?;
            Some((number, target.to_owned()))
        })
        .collect()
}
