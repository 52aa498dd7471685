//! `net::lookup_host`, tokio's resolver: literal addresses come back as given, "localhost"
//! resolves to loopback addresses off the event loop, an empty list is an empty iterator, and
//! malformed input is `InvalidInput`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tests::net::within;
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

rt_test! {
    // Proves: literal forms need no lookup and come back exactly, in order.
    async fn literal_addresses_come_back_as_given() {
        let sa: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let got: Vec<_> = net::lookup_host("127.0.0.1:80").await.unwrap().collect();
        assert_eq!(got, vec![sa]);
        let got: Vec<_> = net::lookup_host(sa).await.unwrap().collect();
        assert_eq!(got, vec![sa]);
        let list: Vec<SocketAddr> = vec!["[::1]:2".parse().unwrap(), sa];
        let got: Vec<_> = net::lookup_host(list.as_slice()).await.unwrap().collect();
        assert_eq!(got, list);
    }

    // Proves: a host name ("localhost") is looked up and gives only loopback addresses with
    // the port asked for.
    async fn localhost_resolves_to_loopback() {
        let addrs: Vec<_> = within(LIMIT, "lookup", net::lookup_host(("localhost", 4321)))
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        for a in addrs {
            assert!(a.ip().is_loopback(), "{a}");
            assert_eq!(a.port(), 4321);
        }
    }

    // Proves: an empty list is an empty iterator (as in tokio), not an error.
    async fn an_empty_list_is_an_empty_iterator() {
        let empty: &[SocketAddr] = &[];
        assert_eq!(net::lookup_host(empty).await.unwrap().count(), 0);
    }

    // Proves: malformed input is `InvalidInput`, never a panic.
    async fn malformed_input_is_invalid_input() {
        for bad in ["", "localhost", "127.0.0.1:port", "host:99999", ":80"] {
            let err = net::lookup_host(bad).await.err().expect(bad);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {err}");
        }
    }
}
