//! IPv4 multicast on the loopback interface: receivers made with `bind_multicast_v4` share
//! a group's port, each gets every datagram, and one that leaves stops receiving.
//!
//! The sender sends from 127.0.0.1 (`IP_MULTICAST_IF`) with multicast loop on, so nothing
//! leaves the host. If the kernel refuses the join (e.g. `ENODEV`: no multicast route on
//! `lo`), the test prints why and returns.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use net::UdpSocket;
use tests::net::{reuse_options, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);
const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// How long a receiver must stay silent to count as not receiving. Absence can only be
/// shown by waiting; the datagram it would have received was sent before the wait.
const SILENCE: Duration = Duration::from_millis(300);

/// The next call's number in this process: each case (and each flavor of it) gets a group
/// of its own.
fn next_call() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A group in the organization-local scope (239.255/16) of our own, per process and call,
/// so concurrent runs and cases do not hear each other.
fn group() -> Ipv4Addr {
    let pid = std::process::id();
    Ipv4Addr::new(239, 255, (pid % 251) as u8 + 1, next_call() as u8)
}

/// The IPv6 counterpart of [`group`] (organization-local scope, ff15::/16).
fn group_v6() -> Ipv6Addr {
    let pid = std::process::id() & 0xffff;
    format!("ff15::7e57:{pid:x}:{:x}", next_call())
        .parse()
        .unwrap()
}

async fn sender() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.set_multicast_if_v4(LO).unwrap();
    s.set_multicast_loop_v4(true).unwrap();
    assert!(s.multicast_loop_v4().unwrap());
    s
}

/// A multicast receiver, or `None` (after printing why) if the kernel refuses the join.
fn receiver(group: Ipv4Addr, port: u16) -> Option<UdpSocket> {
    match UdpSocket::bind_multicast_v4(group, port, LO) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("skipped: joining {group} on {LO} failed: {e}");
            None
        }
    }
}

async fn recv_text(socket: &UdpSocket) -> String {
    let mut buf = [0; 256];
    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn lo_index() -> u32 {
    // SAFETY: the argument is a NUL-terminated string literal.
    unsafe { libc::if_nametoindex(c"lo".as_ptr()) }
}

rt_test! {
    // Proves: two receivers from `bind_multicast_v4` on the same group and port both receive
    // every datagram sent to the group from 127.0.0.1; after one leaves the group it receives
    // nothing more while the other still receives.
    // Races: absence is shown by waiting SILENCE for a datagram that was sent before the
    // wait; the other receiver getting that same datagram shows it was delivered to the host.
    async fn multicast_receivers_on_loopback_each_get_every_datagram_until_they_leave() {
        let group = group();
        let Some(first) = receiver(group, 0) else {
            return;
        };
        let port = first.local_addr().unwrap().port();
        let Some(second) = receiver(group, port) else {
            return;
        };
        let sender = sender().await;
        let to = SocketAddr::from((group, port));

        within(LIMIT, "both receive", async {
            for i in 0..3 {
                let msg = format!("to both {i}");
                sender.send_to(msg.as_bytes(), to).await.unwrap();
                assert_eq!(recv_text(&first).await, msg, "first receiver");
                assert_eq!(recv_text(&second).await, msg, "second receiver");
            }
        })
        .await;

        first.leave_multicast_v4(group, LO).unwrap();
        sender.send_to(b"after leave", to).await.unwrap();
        within(LIMIT, "the member still receives", async {
            assert_eq!(recv_text(&second).await, "after leave");
        })
        .await;
        let heard = runtime::time::timeout(SILENCE, recv_text(&first)).await;
        assert!(
            heard.is_err(),
            "a receiver that left the group still got {heard:?}"
        );
        let err = first.leave_multicast_v4(group, LO).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EADDRNOTAVAIL),
            "leave twice: {err}"
        );
    }

    // Proves: `UdpSocket::bind` to a multicast group address sets SO_REUSEADDR and
    // SO_REUSEPORT, so a second bind of the same group and port succeeds (a unicast bind of a
    // used port fails, see net_reuse.rs).
    async fn binding_a_group_address_twice_succeeds() {
        let group = group();
        let a = UdpSocket::bind((group, 0)).await.unwrap();
        let port = a.local_addr().unwrap().port();
        let b = UdpSocket::bind(format!("{group}:{port}")).await.unwrap();
        assert_eq!(b.local_addr().unwrap(), SocketAddr::from((group, port)));
        assert_eq!(reuse_options(&a), (true, true));
        assert_eq!(reuse_options(&b), (true, true));
    }

    // Proves: the multicast constructor and join refuse a unicast "group" with `InvalidInput`.
    async fn a_unicast_group_is_invalid_input() {
        let err = UdpSocket::bind_multicast_v4(LO, 0, LO).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = s.join_multicast_v4(LO, LO).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    // Proves: the IPv6 form on loopback (interface index of `lo`): a receiver from
    // `bind_multicast_v6` filters by its own memberships (Linux: IPV6_MULTICAST_ALL is off
    // after the join); two receivers both receive a datagram sent to the group through `lo`,
    // and after one leaves, only the other does. Skipped (with the reason) where the kernel
    // refuses the join, or does not loop IPv6 multicast back on `lo` (then only the option
    // is checked).
    async fn ipv6_multicast_receivers_on_loopback_stop_receiving_after_they_leave() {
        let group = group_v6();
        let lo = lo_index();
        let first = match UdpSocket::bind_multicast_v6(group, 0, lo) {
            Ok(s) => s,
            Err(e) => return println!("skipped: joining {group} on lo ({lo}) failed: {e}"),
        };
        let port = first.local_addr().unwrap().port();
        let second = UdpSocket::bind_multicast_v6(group, port, lo).unwrap();
        #[cfg(target_os = "linux")]
        {
            let all = tests::net::sockopt_int(&first, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_ALL);
            assert_eq!(all, 0, "IPV6_MULTICAST_ALL after the join");
        }
        let sender = UdpSocket::bind("[::1]:0").await.unwrap();
        sender.set_multicast_loop_v6(true).unwrap();
        let to = SocketAddr::V6(std::net::SocketAddrV6::new(group, port, 0, lo));
        if let Err(e) = sender.send_to(b"to both", to).await {
            return println!("skipped: sending to {to} failed: {e}");
        }
        let both = runtime::time::timeout(SILENCE, async {
            (recv_text(&first).await, recv_text(&second).await)
        })
        .await;
        let Ok(both) = both else {
            return println!("skipped: IPv6 multicast does not loop back on lo here");
        };
        assert_eq!(both, ("to both".into(), "to both".into()));

        first.leave_multicast_v6(&group, lo).unwrap();
        sender.send_to(b"after leave", to).await.unwrap();
        within(LIMIT, "the member still receives", async {
            assert_eq!(recv_text(&second).await, "after leave");
        })
        .await;
        let heard = runtime::time::timeout(SILENCE, recv_text(&first)).await;
        assert!(heard.is_err(), "a receiver that left still got {heard:?}");
    }
}
