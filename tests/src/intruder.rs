//! The intruder of the hijack tests (`tests/tests/hostile_hijack.rs`), run in a child
//! process: it drops to uid/gid [`NOBODY`] if told to, binds the ports its parent names
//! with reuse options through raw sockets ([`crate::rawsock`]), and reports on stdout, one
//! line each: `UID <uid> <gid>`, `BIND <what> <ip> <errno or 0>`, `JOIN <errno or 0>`,
//! `CONTROL <port>`; then, once the parent sent `end` to that port, `GOT <what>
//! unicast=<n> group=<n>` per socket it bound, and `INTRUDER-DONE`.
//!
//! Its orders are one line of `key=value` words, in this order: `drop=0|1`, `tcp=`,
//! `udp=` (our ports on 127.0.0.1), `wtcp=`, `wudp=` (on 0.0.0.0), `w6=<tcp>,<udp>,dual|
//! v6only` or `w6=none` (on `::`), `mcast=<group>:<port>` or `mcast=none`, `optin=` (a
//! listener of ours with SO_REUSEPORT).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::rawsock::bind_with_options;

/// The unprivileged user and group (`nobody` on most systems).
pub const NOBODY: libc::uid_t = 65534;
const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

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
pub fn intrude(spec: &str) {
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
    let wild_v6 = next("w6=");
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
    let (lo, any) = (IpAddr::from(LO), IpAddr::from(Ipv4Addr::UNSPECIFIED));
    let (tcp_ty, udp_ty) = (libc::SOCK_STREAM, libc::SOCK_DGRAM);
    let mut probes = vec![
        ("tcp", tcp_ty, lo, tcp),
        ("tcp", tcp_ty, any, tcp),
        ("tcpwild", tcp_ty, lo, wild_tcp),
        ("udp", udp_ty, lo, udp),
        ("udp", udp_ty, any, udp),
        ("udpwild", udp_ty, lo, wild_udp),
    ];
    // Our IPv6 wildcard binds: `::1`, and 127.0.0.1 if they are dual-stack.
    if let [tcp6, udp6, stack] = wild_v6.split(',').collect::<Vec<_>>()[..] {
        let (tcp6, udp6): (u16, u16) = (tcp6.parse().unwrap(), udp6.parse().unwrap());
        let ips = match stack {
            "dual" => vec![IpAddr::from(Ipv6Addr::LOCALHOST), lo],
            _ => vec![IpAddr::from(Ipv6Addr::LOCALHOST)],
        };
        for ip in ips {
            probes.push(("tcp6wild", tcp_ty, ip, tcp6));
            probes.push(("udp6wild", udp_ty, ip, udp6));
        }
    }
    for (proto, ty, ip, port) in probes {
        let result = bind_with_options(ty, SocketAddr::new(ip, port), reuse);
        println!(
            "BIND {proto} {ip} {}",
            result.as_ref().err().copied().unwrap_or(0)
        );
        if let (Ok(fd), libc::SOCK_DGRAM) = (result, ty) {
            bound.push((format!("{proto} {ip}"), std::net::UdpSocket::from(fd)));
        }
    }
    let result = bind_with_options(libc::SOCK_STREAM, (LO, opt_in).into(), reuse);
    println!("BIND optin {LO} {}", result.err().unwrap_or(0));
    if let Some((group, port)) = multicast.split_once(':') {
        let group: Ipv4Addr = group.parse().unwrap();
        let addr = SocketAddr::new(group.into(), port.parse().unwrap());
        let result = bind_with_options(libc::SOCK_DGRAM, addr, reuse);
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
