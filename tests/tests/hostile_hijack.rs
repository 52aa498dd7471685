//! Hostile hijack: another process on the host cannot take over our ports. When the suite
//! runs as root, an intruder child that drops to uid/gid 65534 binds our default TCP
//! listeners' ports and our unicast UDP ports (bound to 127.0.0.1 and to the wildcard)
//! with SO_REUSEADDR and SO_REUSEPORT, and our multicast receiver's port; a same-uid intruder tries our ports with SO_REUSEPORT alone.
//! Every TCP and unicast UDP bind gets `EADDRINUSE`; the intruder never receives a
//! datagram sent to our unicast socket, while ours receives every one. Not root: each test
//! prints why and returns.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tests::net::{SelfChild, child_mode, within};
use tests::rt::Flavor;
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(10);
const MODE: &str = "HOSTILE_HIJACK_CHILD";
const CHILD: &str = "child_body_intruder";
/// The unprivileged user and group (`nobody` on most systems).
const NOBODY: libc::uid_t = 65534;
/// Datagrams (and connections) sent to each of our sockets.
const SENT: usize = 20;
const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Whether this process runs as root; prints why the test is skipped if not.
fn running_as_root() -> bool {
    // SAFETY: geteuid takes no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        println!("skipped: the hijack tests need root to drop to uid {NOBODY} (euid {euid})");
    }
    euid == 0
}

/// A multicast group of this process's own (organization-local scope), per flavor.
fn group(flavor: Flavor) -> Ipv4Addr {
    let pid = std::process::id();
    Ipv4Addr::new(239, 255, (pid % 251) as u8 + 1, 230 + flavor as u8)
}

// ---- the intruder (child process) ---------------------------------------------------------

/// A raw IPv4 socket of type `ty` with each of `options` set to 1, bound to `addr`; the
/// errno of the bind (or of an earlier step) if it fails.
fn raw_bind(ty: libc::c_int, addr: SocketAddrV4, options: &[libc::c_int]) -> Result<OwnedFd, i32> {
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(-1);
    // SAFETY: socket takes no pointers.
    let raw = unsafe { libc::socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(errno());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let one: libc::c_int = 1;
    for &option in options {
        let len = std::mem::size_of_val(&one) as libc::socklen_t;
        // SAFETY: `one` is valid for `len` bytes of reads; `raw` is open (owned by `fd`).
        let rc = unsafe {
            libc::setsockopt(raw, libc::SOL_SOCKET, option, (&raw const one).cast(), len)
        };
        if rc != 0 {
            return Err(errno());
        }
    }
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of_val(&sin) as libc::socklen_t;
    // SAFETY: `sin` is a valid sockaddr_in for `len` bytes; `raw` is open.
    if unsafe { libc::bind(raw, (&raw const sin).cast(), len) } != 0 {
        return Err(errno());
    }
    Ok(fd)
}

/// setgroups, setgid, then setuid to `NOBODY`: after this the process cannot get root back.
fn drop_to_nobody() {
    // SAFETY: setgroups reads no memory for an empty list; setgid and setuid take no
    // pointers.
    let rcs = unsafe {
        [
            libc::setgroups(0, std::ptr::null()),
            libc::setgid(NOBODY),
            libc::setuid(NOBODY),
        ]
    };
    assert_eq!(
        rcs,
        [0; 3],
        "dropping privileges: {}",
        std::io::Error::last_os_error()
    );
}

/// The intruder's side: binds what the parent named, reports each errno, then waits for
/// the parent's `end` on a control socket and reports what its bound sockets received.
fn intrude(spec: &str) {
    let mut words = spec.split_whitespace();
    let mut next = |key: &str| {
        let word = words.next().unwrap_or_else(|| panic!("{key} in {spec:?}"));
        word.strip_prefix(key)
            .unwrap_or_else(|| panic!("{key} in {spec:?}"))
            .to_owned()
    };
    let drop_privileges = next("drop=") == "1";
    let (tcp, udp): (u16, u16) = (next("tcp=").parse().unwrap(), next("udp=").parse().unwrap());
    let (wild_tcp, wild_udp): (u16, u16) = (
        next("wtcp=").parse().unwrap(),
        next("wudp=").parse().unwrap(),
    );
    let multicast = next("mcast=");
    let opt_in: u16 = next("optin=").parse().unwrap();
    if drop_privileges {
        drop_to_nobody();
    }
    // SAFETY: getuid and getgid take no arguments and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // The first line follows libtest's `test <name> ... `: a newline first.
    println!("\nUID {uid} {gid}");
    let reuse: &[libc::c_int] = match drop_privileges {
        true => &[libc::SO_REUSEADDR, libc::SO_REUSEPORT],
        false => &[libc::SO_REUSEPORT],
    };
    let mut bound = Vec::new();
    // Our address and the wildcard on our specific binds; our address, more specific
    // than the wildcard (it would win the lookup), on our wildcard binds.
    let (any, tcp_ty, udp_ty) = (Ipv4Addr::UNSPECIFIED, libc::SOCK_STREAM, libc::SOCK_DGRAM);
    for (proto, ty, ip, port) in [
        ("tcp", tcp_ty, LO, tcp),
        ("tcp", tcp_ty, any, tcp),
        ("tcpwild", tcp_ty, LO, wild_tcp),
        ("udp", udp_ty, LO, udp),
        ("udp", udp_ty, any, udp),
        ("udpwild", udp_ty, LO, wild_udp),
    ] {
        let result = raw_bind(ty, SocketAddrV4::new(ip, port), reuse);
        println!(
            "BIND {proto} {ip} {}",
            result.as_ref().err().copied().unwrap_or(0)
        );
        if let (Ok(fd), libc::SOCK_DGRAM) = (result, ty) {
            bound.push((format!("{proto} {ip}"), std::net::UdpSocket::from(fd)));
        }
    }
    let result = raw_bind(libc::SOCK_STREAM, SocketAddrV4::new(LO, opt_in), reuse);
    println!("BIND optin {LO} {}", result.err().unwrap_or(0));
    if let Some((group, port)) = multicast.split_once(':') {
        let group: Ipv4Addr = group.parse().unwrap();
        let result = raw_bind(
            libc::SOCK_DGRAM,
            SocketAddrV4::new(group, port.parse().unwrap()),
            reuse,
        );
        println!(
            "BIND mcast {group} {}",
            result.as_ref().err().copied().unwrap_or(0)
        );
        if let Ok(fd) = result {
            let socket = std::net::UdpSocket::from(fd);
            let joined = socket.join_multicast_v4(&group, &LO);
            println!(
                "JOIN {}",
                joined.err().and_then(|e| e.raw_os_error()).unwrap_or(0)
            );
            bound.push(("mcast".to_owned(), socket));
        }
    }
    let control = std::net::UdpSocket::bind((LO, 0)).unwrap();
    control
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    println!("CONTROL {}", control.local_addr().unwrap().port());
    let mut buf = [0u8; 64];
    let n = control
        .recv(&mut buf)
        .expect("the parent's end within 20 s");
    assert_eq!(&buf[..n], b"end");
    for (label, socket) in &bound {
        socket.set_nonblocking(true).unwrap();
        let (mut unicast, mut grouped) = (0, 0);
        while let Ok(n) = socket.recv(&mut buf) {
            match buf[..n].starts_with(b"unicast") {
                true => unicast += 1,
                false => grouped += 1,
            }
        }
        println!("GOT {label} unicast={unicast} group={grouped}");
    }
    println!("INTRUDER-DONE");
}

/// The child process body, run only by the tests below (`--ignored --exact` with the mode
/// set to what to intrude on).
#[test]
#[ignore = "child-process body: run by the hijack tests"]
fn child_body_intruder() {
    if let Some(spec) = child_mode(MODE) {
        intrude(&spec);
    }
}

// ---- our side ---------------------------------------------------------------------------

/// What the intruder reported.
#[derive(Debug, Default)]
struct Report {
    uid: String,
    /// `(what, errno)` per bind, e.g. `("tcp 127.0.0.1", 98)`.
    binds: Vec<(String, i32)>,
    /// The errno of the intruder's multicast join, if it bound the group's port.
    join: Option<i32>,
    /// `(socket, unicast datagrams, group datagrams)` per socket it bound.
    got: Vec<(String, usize, usize)>,
}

/// Starts the intruder on `spec`, collects its binds, lets `traffic` run against our
/// sockets while it listens, tells it to stop and collects what it received.
fn run_intruder(spec: &str, traffic: impl FnOnce()) -> Report {
    let mut child = SelfChild::spawn(CHILD, MODE, spec);
    let control: u16 = child
        .line_starting("CONTROL ", LIMIT)
        .expect("the intruder's control port")
        .parse()
        .unwrap();
    traffic();
    let end = std::net::UdpSocket::bind((LO, 0)).unwrap();
    end.send_to(b"end", (LO, control)).unwrap();
    let out = child.finish(LIMIT);
    assert!(
        out.status.success() && out.stdout.iter().any(|l| l == "INTRUDER-DONE"),
        "the intruder {} (killed: {})\nstdout: {:?}\nstderr: {}",
        out.status,
        out.killed,
        out.stdout,
        out.stderr
    );
    let mut report = Report::default();
    for line in &out.stdout {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["UID", uid, gid] => report.uid = format!("{uid}:{gid}"),
            ["BIND", proto, ip, errno] => report
                .binds
                .push((format!("{proto} {ip}"), errno.parse().unwrap())),
            ["JOIN", errno] => report.join = Some(errno.parse().unwrap()),
            ["GOT", .., unicast, group] => report.got.push((
                line[4..line.find(" unicast=").unwrap()].to_owned(),
                unicast.trim_start_matches("unicast=").parse().unwrap(),
                group.trim_start_matches("group=").parse().unwrap(),
            )),
            _ => {}
        }
    }
    println!("intruder on {spec:?}: {report:?}");
    report
}

/// Our side of the traffic: `SENT` connections to 127.0.0.1 at each listener's port, all
/// accepted by it; `SENT` datagrams to 127.0.0.1 at each unicast socket's port, and to the
/// group if we have a receiver, all received by ours.
async fn our_traffic(
    listeners: &[&TcpListener],
    unicast: &[&UdpSocket],
    multicast: Option<(&UdpSocket, Ipv4Addr)>,
) {
    for listener in listeners {
        let port = listener.local_addr().unwrap().port();
        for _ in 0..SENT {
            let _client = within(
                LIMIT,
                "connect to our listener",
                TcpStream::connect((LO, port)),
            )
            .await
            .unwrap();
            within(LIMIT, "our listener accepts", listener.accept())
                .await
                .unwrap();
        }
    }
    let sender = UdpSocket::bind((LO, 0)).await.unwrap();
    sender.set_multicast_if_v4(LO).unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    let mut buf = [0u8; 64];
    for socket in unicast {
        let port = socket.local_addr().unwrap().port();
        for i in 0..SENT {
            let message = format!("unicast {i}");
            sender
                .send_to(message.as_bytes(), (LO, port))
                .await
                .unwrap();
            let n = within(LIMIT, "our unicast socket receives", socket.recv(&mut buf))
                .await
                .unwrap();
            assert_eq!(
                &buf[..n],
                message.as_bytes(),
                "datagram {i} to our port {port}"
            );
        }
    }
    if let Some((receiver, group)) = multicast {
        let port = receiver.local_addr().unwrap().port();
        for i in 0..SENT {
            let message = format!("group {i}");
            sender
                .send_to(message.as_bytes(), (group, port))
                .await
                .unwrap();
            let n = within(
                LIMIT,
                "our multicast receiver receives",
                receiver.recv(&mut buf),
            )
            .await
            .unwrap();
            assert_eq!(&buf[..n], message.as_bytes(), "datagram {i} to the group");
        }
    }
}

/// Binds our sockets in a runtime of `flavor` (a default TCP listener, a unicast UDP
/// socket, a multicast receiver if the intruder drops privileges, and a TCP listener that
/// opted in to SO_REUSEPORT), runs the intruder (dropping privileges or not) against them
/// while our traffic flows, and returns its report and whether we had a multicast
/// receiver.
fn attempt(flavor: Flavor, drop_privileges: bool) -> (Report, bool) {
    let rt = flavor.build();
    let group = group(flavor);
    let any = Ipv4Addr::UNSPECIFIED;
    let (listeners, unicast, multicast, opt_in) = rt.block_on(async {
        let listeners = [
            TcpListener::bind((LO, 0)).await.unwrap(),
            TcpListener::bind((any, 0)).await.unwrap(),
        ];
        let unicast = [
            UdpSocket::bind((LO, 0)).await.unwrap(),
            UdpSocket::bind((any, 0)).await.unwrap(),
        ];
        let multicast = match UdpSocket::bind_multicast_v4(group, 0, LO) {
            Ok(receiver) => Some(receiver),
            Err(e) => {
                println!("skipped the multicast part: joining {group} on {LO} failed: {e}");
                None
            }
        };
        let opt_in = TcpSocket::new_v4().unwrap();
        opt_in.set_reuseaddr(true).unwrap();
        opt_in.set_reuseport(true).unwrap();
        opt_in.bind((LO, 0).into()).unwrap();
        let opt_in = opt_in.listen(16).unwrap();
        (
            listeners,
            unicast,
            multicast.filter(|_| drop_privileges),
            opt_in,
        )
    });
    let mcast = match &multicast {
        Some(receiver) => format!("{group}:{}", receiver.local_addr().unwrap().port()),
        None => "none".to_owned(),
    };
    let spec = format!(
        "drop={} tcp={} udp={} wtcp={} wudp={} mcast={mcast} optin={}",
        u8::from(drop_privileges),
        listeners[0].local_addr().unwrap().port(),
        unicast[0].local_addr().unwrap().port(),
        listeners[1].local_addr().unwrap().port(),
        unicast[1].local_addr().unwrap().port(),
        opt_in.local_addr().unwrap().port(),
    );
    let report = run_intruder(&spec, || {
        rt.block_on(our_traffic(
            &[&listeners[0], &listeners[1]],
            &[&unicast[0], &unicast[1]],
            multicast.as_ref().map(|m| (m, group)),
        ));
    });
    (report, multicast.is_some())
}

/// Asserts every TCP and unicast UDP bind in `report` failed with EADDRINUSE (six: our
/// address and the wildcard on our specific bind, our address on our wildcard bind, per
/// protocol).
fn assert_unicast_binds_refused(report: &Report) {
    let unicast: Vec<_> = report
        .binds
        .iter()
        .filter(|(what, _)| what.starts_with("tcp") || what.starts_with("udp"))
        .collect();
    assert_eq!(unicast.len(), 6, "{report:?}");
    for (what, errno) in unicast {
        assert_eq!(
            *errno,
            libc::EADDRINUSE,
            "the intruder's bind of our {what} port: {report:?}"
        );
    }
}

/// The errno of the intruder's bind of our opt-in (SO_REUSEPORT) listener's port.
fn opt_in_bind(report: &Report) -> i32 {
    let bind = report
        .binds
        .iter()
        .find(|(what, _)| what.starts_with("optin"));
    bind.expect("the intruder tried the opt-in listener").1
}

rt_test! {
    // Proves that an unprivileged intruder (uid and gid 65534) cannot take our ports: its
    // binds of our default TCP listener's port and of our unicast UDP port, on our address
    // and on the wildcard, and on 127.0.0.1 (more specific, so it would win the lookup) at
    // the ports of our wildcard-bound listener and UDP socket, each with SO_REUSEADDR and
    // SO_REUSEPORT, all fail with EADDRINUSE, and our listeners and sockets still get
    // every connection and datagram.
    // Our multicast receiver's port is shared by design (DESIGN.md's reuse table: both
    // options on, so several receivers on a host can share a group): the kernel lets the
    // intruder bind it (both sockets have SO_REUSEADDR), our receiver still gets every
    // datagram sent to the group, the intruder gets copies of those (multicast is
    // copy-to-all, not steal) and never a datagram sent to our unicast socket. Even our
    // listener that opted in to SO_REUSEPORT refuses it: the kernel shares a reuse-port
    // group only among sockets of one uid.
    // Steps: bind our three sockets in a runtime of the flavor; start the intruder child,
    // which drops privileges (setgroups, setgid, setuid) before anything else, tries its
    // binds, joins the group if it bound its port, and waits on a control socket; send 20
    // connections and 20 datagrams to each of ours and check ours got them; tell the
    // intruder to stop; it reports what each socket it bound received.
    fn an_unprivileged_intruder_cannot_bind_our_ports(flavor) {
        if !running_as_root() {
            return;
        }
        let (report, with_multicast) = attempt(flavor, true);
        assert_eq!(report.uid, format!("{NOBODY}:{NOBODY}"), "the intruder dropped privileges");
        assert_unicast_binds_refused(&report);
        assert_eq!(
            opt_in_bind(&report),
            libc::EADDRINUSE,
            "SO_REUSEPORT shares a port only within one uid: {report:?}"
        );
        for (socket, unicast, _) in &report.got {
            assert_eq!(*unicast, 0, "the intruder's {socket} received our unicast datagrams");
        }
        if with_multicast {
            let bind = report.binds.iter().find(|(what, _)| what.starts_with("mcast"));
            assert_eq!(bind.map(|b| b.1), Some(0), "the multicast port is shared: {report:?}");
            let copies = report.got.iter().find(|got| got.0 == "mcast").map(|got| got.2);
            let want = if report.join == Some(0) { SENT } else { 0 };
            assert_eq!(copies, Some(want), "group datagrams the intruder saw: {report:?}");
        }
    }

    // Proves that SO_REUSEPORT alone does not let a process of our own uid share our
    // default TCP listener's port or our unicast UDP port: neither has SO_REUSEPORT set
    // (DESIGN.md), so every bind (the same six as above) fails with EADDRINUSE, and ours still get every connection and datagram. The control: the same
    // intruder does bind the port of our listener that opted in to SO_REUSEPORT (the
    // sharding opt-in), which is why the default leaves it off, and shows a successful
    // hijack would be seen.
    // Steps: as above, with an intruder that keeps root's uid and sets only SO_REUSEPORT,
    // and no multicast receiver.
    fn a_same_uid_intruder_with_reuseport_cannot_bind_our_ports(flavor) {
        if !running_as_root() {
            return;
        }
        let (report, _) = attempt(flavor, false);
        assert_eq!(report.uid, "0:0", "the intruder kept our uid");
        assert_unicast_binds_refused(&report);
        assert_eq!(opt_in_bind(&report), 0, "the opt-in listener's port is shared: {report:?}");
        assert!(report.got.is_empty(), "the intruder bound nothing: {report:?}");
    }
}
