//! The address forms `bind` and `connect` take (as tokio's): `SocketAddr`, `(IpAddr, u16)`,
//! `"ip:port"`, `(&str, u16)`, host names, slices tried in order; malformed input and empty
//! lists are `InvalidInput`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tests::net::{refused_addr, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn assert_loopback_with_port(addr: SocketAddr, form: &str) {
    assert_eq!(addr.ip(), LOCALHOST, "{form}");
    assert_ne!(addr.port(), 0, "{form}: the OS picks a port for port 0");
}

rt_test! {
    // Proves: `TcpListener::bind` takes a `SocketAddr`, an `(IpAddr, u16)`, an
    // `(Ipv4Addr, u16)`, a `&str`, a `String` and a `(&str, u16)`, each binding the address it
    // names.
    async fn bind_takes_every_address_form() {
        let sa: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listeners = [
            ("SocketAddr", TcpListener::bind(sa).await),
            ("(IpAddr, u16)", TcpListener::bind((LOCALHOST, 0)).await),
            (
                "(Ipv4Addr, u16)",
                TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await,
            ),
            ("&str", TcpListener::bind("127.0.0.1:0").await),
            (
                "String",
                TcpListener::bind(String::from("127.0.0.1:0")).await,
            ),
            ("(&str, u16)", TcpListener::bind(("127.0.0.1", 0)).await),
        ];
        for (form, listener) in listeners {
            let listener = listener.unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_loopback_with_port(listener.local_addr().unwrap(), form);
        }
    }

    // Proves: `TcpStream::connect` takes the same forms plus a host name (`("localhost",
    // port)`, looked up through the resolver), and each connects to the listener it names.
    // With "localhost" possibly resolving to `::1` first, this also shows a refused address is
    // skipped for the next one.
    async fn connect_takes_every_address_form_including_a_host_name() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let port = addr.port();
        let text = format!("127.0.0.1:{port}");
        within(LIMIT, "connects", async {
            let streams = [
                ("SocketAddr", TcpStream::connect(addr).await),
                ("(IpAddr, u16)", TcpStream::connect((LOCALHOST, port)).await),
                ("&str", TcpStream::connect(text.as_str()).await),
                ("(&str, u16)", TcpStream::connect(("127.0.0.1", port)).await),
                (
                    "(\"localhost\", u16)",
                    TcpStream::connect(("localhost", port)).await,
                ),
                (
                    "\"localhost:port\"",
                    TcpStream::connect(format!("localhost:{port}")).await,
                ),
            ];
            for (form, stream) in streams {
                let stream = stream.unwrap_or_else(|e| panic!("{form}: {e}"));
                assert_eq!(stream.peer_addr().unwrap(), addr, "{form}");
            }
        })
        .await;
    }

    // Proves: a slice is tried in order: a refused address first, then a good one, connects to
    // the good one; a good one first is used as is; a list of only refused addresses returns
    // the (last) `ConnectionRefused`.
    async fn connect_tries_a_slice_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let (_held, refused) = refused_addr();
        within(LIMIT, "slice connects", async {
            let s = TcpStream::connect(&[refused, good][..]).await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), good);
            let s = TcpStream::connect([good, refused]).await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), good);
            let err = TcpStream::connect(vec![refused, refused])
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        })
        .await;
    }

    // Proves: `bind` also tries a slice in order: an address in use first, then a free one,
    // binds the free one.
    async fn bind_tries_a_slice_in_order() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let used = taken.local_addr().unwrap();
        let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listener = TcpListener::bind(&[used, free][..]).await.unwrap();
        let bound = listener.local_addr().unwrap();
        assert_ne!(bound.port(), used.port());
        assert_loopback_with_port(bound, "second address of the slice");
    }

    // Proves: malformed address strings are `InvalidInput` (not a panic, not a lookup that
    // fails some other way) for every socket kind that takes an address.
    async fn malformed_addresses_are_invalid_input() {
        let bad = [
            "",
            "nonsense",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:port",
            "127.0.0.1:99999",
            ":80",
            "[::1]",
        ];
        for s in bad {
            let errs = [
                ("TcpListener::bind", TcpListener::bind(s).await.unwrap_err()),
                (
                    "TcpStream::connect",
                    TcpStream::connect(s).await.unwrap_err(),
                ),
                ("UdpSocket::bind", UdpSocket::bind(s).await.unwrap_err()),
            ];
            for (what, err) in errs {
                assert_eq!(
                    err.kind(),
                    io::ErrorKind::InvalidInput,
                    "{what}({s:?}): {err}"
                );
            }
        }
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = udp.send_to(b"x", "127.0.0.1:port").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "send_to: {err}");
        let err = udp.connect("nonsense").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "connect: {err}");
    }

    // Proves: an empty address list is `InvalidInput` for bind, connect and UDP.
    async fn an_empty_address_list_is_invalid_input() {
        let empty: &[SocketAddr] = &[];
        let errs = [
            (
                "TcpListener::bind",
                TcpListener::bind(empty).await.unwrap_err(),
            ),
            (
                "TcpStream::connect",
                TcpStream::connect(empty).await.unwrap_err(),
            ),
            ("UdpSocket::bind", UdpSocket::bind(empty).await.unwrap_err()),
            (
                "UdpSocket::bind(Vec)",
                UdpSocket::bind(Vec::<SocketAddr>::new()).await.unwrap_err(),
            ),
        ];
        for (what, err) in errs {
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{what}: {err}");
        }
    }

    // Proves: `[::1]:port` and `("::1", port)` are literal IPv6 loopback addresses that need
    // no lookup. Skipped (with the reason) if this host has no IPv6 loopback.
    async fn ipv6_loopback_forms_bind_and_connect() {
        let listener = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            Err(e) => {
                println!("skipped: cannot bind [::1]:0 here: {e}");
                return;
            }
        };
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6() && addr.ip().is_loopback(), "{addr}");
        within(LIMIT, "IPv6 connects", async {
            let a = TcpStream::connect(("::1", addr.port())).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), addr);
            let b = TcpStream::connect(format!("[::1]:{}", addr.port()))
                .await
                .unwrap();
            assert_eq!(b.peer_addr().unwrap(), addr);
        })
        .await;
    }

    // Proves: a `TcpSocket` refuses an address of the other family with `InvalidInput` (for
    // bind and connect) instead of passing a mismatched sockaddr to the kernel.
    async fn tcp_socket_rejects_an_address_of_the_other_family() {
        let v6: SocketAddr = "[::1]:0".parse().unwrap();
        let err = TcpSocket::new_v4().unwrap().bind(v6).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "bind: {err}");
        let err = TcpSocket::new_v4().unwrap().connect(v6).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "connect: {err}");
    }

    // Proves: a host name is resolved on the blocking pool, not on the event loop: with the
    // pool's only thread held busy, `connect(("localhost", port))` cannot finish while other
    // tasks keep running; released, it connects.
    // Races: "cannot finish" is shown by letting the event loop turn many times (sleeps)
    // while the pool is held; an inline lookup would finish within those turns. Nothing
    // depends on how long anything takes.
    fn a_host_name_is_resolved_on_the_blocking_pool(flavor) {
        let rt = flavor.builder().max_blocking_threads(1).build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (release, held) = std::sync::mpsc::channel::<()>();
            let (started_tx, started) = std::sync::mpsc::channel::<()>();
            let blocker = runtime::spawn_blocking(move || {
                started_tx.send(()).unwrap();
                held.recv_timeout(Duration::from_secs(30)).ok()
            });
            started
                .recv_timeout(Duration::from_secs(30))
                .expect("the blocking job started");
            let connect = runtime::spawn(TcpStream::connect(("localhost", port)));
            for _ in 0..20 {
                runtime::time::sleep(Duration::from_millis(5)).await;
                assert!(
                    !connect.is_finished(),
                    "connect finished while the blocking pool was busy: the lookup ran elsewhere"
                );
            }
            release.send(()).unwrap();
            let stream = within(LIMIT, "connect after release", connect)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            blocker.await.unwrap();
        });
    }
}
