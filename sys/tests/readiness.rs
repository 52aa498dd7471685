//! Readiness as the poller reports it: edge-triggered events on Unix and TCP sockets,
//! hang-ups, and the registration error contract.

mod util;

use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::time::Duration;

use sys::{Domain, Events, Interest, Poller, Readiness, SockAddr, Socket, Token, Type};
use util::{accept, events_within, tcp_listener, wait_for};

/// Long enough for a spurious event to show up, short enough to keep the suite quick.
const QUIET: Duration = Duration::from_millis(50);

const T: Token = Token(7);

/// A poller with `a` of a fresh Unix stream pair registered for both directions.
fn registered_pair() -> (Poller, Socket, Socket) {
    let poller = Poller::new().unwrap();
    let (a, b) = Socket::pair(Type::Stream).unwrap();
    poller.register(a.as_raw_fd(), T, Interest::BOTH).unwrap();
    (poller, a, b)
}

fn readable(r: Readiness) -> bool {
    r.contains(Readiness::READABLE)
}

#[test]
fn fresh_socket_reports_writable_when_there_is_room() {
    // Proves the first wait on a registered, empty socket reports WRITABLE (and, with
    // nothing sent yet, not READABLE).
    let (poller, _a, _b) = registered_pair();
    let mut events = Events::with_capacity(8);
    let r = wait_for(&poller, &mut events, T, |r| r.contains(Readiness::WRITABLE));
    assert!(!r.contains(Readiness::READABLE), "{r:?}");
}

#[test]
fn peer_write_makes_the_socket_readable() {
    // Proves data sent by the peer is reported as READABLE under the registered token.
    let (poller, a, b) = registered_pair();
    b.send(b"hello").unwrap();
    let mut events = Events::with_capacity(8);
    wait_for(&poller, &mut events, T, readable);
    let mut buf = [0; 16];
    assert_eq!(a.recv(&mut buf).unwrap(), 5);
}

#[test]
fn readable_edge_does_not_repeat_until_new_data_arrives() {
    // Proves the registration is edge-triggered. Steps:
    // 1. the peer writes 100 bytes; a wait reports READABLE;
    // 2. we read only 10 of them, so data is still queued;
    // 3. a 50 ms wait reports nothing at all (a level-triggered poller would repeat);
    // 4. the peer writes again; that new edge is reported as READABLE.
    let (poller, a, b) = registered_pair();
    let mut events = Events::with_capacity(8);
    b.send(&[1; 100]).unwrap();
    wait_for(&poller, &mut events, T, readable);
    let mut buf = [0; 10];
    assert_eq!(a.recv(&mut buf).unwrap(), 10);

    let quiet = events_within(&poller, QUIET);
    assert!(
        quiet.is_empty(),
        "no new edge, yet the poller reported {quiet:?}"
    );

    b.send(&[2; 5]).unwrap();
    wait_for(&poller, &mut events, T, readable);
    let mut rest = [0; 200];
    assert_eq!(
        a.recv(&mut rest).unwrap(),
        95,
        "old and new data are both there"
    );
}

#[test]
fn peer_close_reports_read_closed() {
    // Proves closing the peer of a Unix stream reports READ_CLOSED (a hang-up), and the
    // read side then sees end of stream.
    let (poller, a, b) = registered_pair();
    let mut events = Events::with_capacity(8);
    wait_for(&poller, &mut events, T, |r| r.contains(Readiness::WRITABLE));
    drop(b);
    let r = wait_for(&poller, &mut events, T, Readiness::is_read_closed);
    assert!(r.is_readable(), "{r:?}");
    assert_eq!(a.recv(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn tcp_connect_reports_writable() {
    // Proves a non-blocking TCP connect on loopback is reported WRITABLE once it is
    // established, with no pending error.
    let (listener, addr) = tcp_listener();
    let client = Socket::new(Domain::Ipv4, Type::Stream).unwrap();
    let poller = Poller::new().unwrap();
    poller
        .register(client.as_raw_fd(), T, Interest::BOTH)
        .unwrap();
    client.connect(&SockAddr::from_inet(addr)).unwrap();
    let mut events = Events::with_capacity(8);
    let r = wait_for(&poller, &mut events, T, |r| r.contains(Readiness::WRITABLE));
    assert!(!r.is_error(), "{r:?}");
    assert!(client.take_error().unwrap().is_none());
    drop(accept(&listener));
}

#[test]
fn tcp_peer_shutdown_write_reports_read_closed() {
    // Proves a TCP peer's shutdown(Write) (a FIN) is reported as READ_CLOSED, while our
    // write side stays open.
    let (client, accepted, _listener) = util::tcp_pair();
    let poller = Poller::new().unwrap();
    poller
        .register(client.as_raw_fd(), T, Interest::BOTH)
        .unwrap();
    let mut events = Events::with_capacity(8);
    wait_for(&poller, &mut events, T, |r| r.contains(Readiness::WRITABLE));
    accepted.shutdown(Shutdown::Write).unwrap();
    let r = wait_for(&poller, &mut events, T, Readiness::is_read_closed);
    assert!(
        !r.is_write_closed(),
        "only the peer's write side closed: {r:?}"
    );
    assert_eq!(client.recv(&mut [0; 8]).unwrap(), 0);
    assert_eq!(client.send(b"still open").unwrap(), 10);
}

#[test]
fn registering_twice_is_already_exists() {
    // Proves a second register of the same descriptor is AlreadyExists.
    let (poller, a, _b) = registered_pair();
    let err = poller
        .register(a.as_raw_fd(), Token(8), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
}

#[test]
fn deregistering_an_unregistered_fd_is_not_found() {
    // Proves deregister of a descriptor the poller does not hold is NotFound.
    let poller = Poller::new().unwrap();
    let (a, _b) = Socket::pair(Type::Stream).unwrap();
    let err = poller.deregister(a.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn modifying_an_unregistered_fd_is_not_found() {
    // Proves modify of a descriptor the poller does not hold is NotFound.
    let poller = Poller::new().unwrap();
    let (a, _b) = Socket::pair(Type::Stream).unwrap();
    let err = poller.modify(a.as_raw_fd(), T, Interest::BOTH).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn deregistered_fd_reports_no_events() {
    // Proves that after deregister nothing is reported for the descriptor, even though
    // it becomes readable and writable, and a second deregister is NotFound.
    let (poller, a, b) = registered_pair();
    poller.deregister(a.as_raw_fd()).unwrap();
    b.send(b"data").unwrap();
    let seen = events_within(&poller, QUIET);
    assert!(seen.is_empty(), "deregistered, yet reported {seen:?}");
    let err = poller.deregister(a.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn modify_changes_the_reported_token_and_interest() {
    // Proves modify replaces the registration: events carry the new token, and a
    // READABLE-only interest no longer reports the writable edge.
    let (poller, a, b) = registered_pair();
    let mut events = Events::with_capacity(8);
    wait_for(&poller, &mut events, T, |r| r.contains(Readiness::WRITABLE));
    poller
        .modify(a.as_raw_fd(), Token(9), Interest::READABLE)
        .unwrap();
    b.send(b"x").unwrap();
    let r = wait_for(&poller, &mut events, Token(9), readable);
    assert!(!r.contains(Readiness::WRITABLE), "{r:?}");
    assert!(events.iter().all(|e| e.token == Token(9)), "{events:?}");
}
