//! `Poller::wait` timeouts: zero never blocks, short timeouts never end early, and
//! timeouts too long to represent (and `None`) wait for an event instead of failing or
//! returning at once.

mod util;

use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sys::{Events, Interest, Poller, Socket, Token, Type};
use util::LIMIT;

const T: Token = Token(3);

/// Waits `timeout` on a poller with a registered but idle socket, and asserts the wait
/// reports nothing and did not return before `timeout`.
#[track_caller]
fn assert_waits_at_least(timeout: Duration) {
    let poller = Poller::new().unwrap();
    let (a, _b) = Socket::pair(Type::Stream).unwrap();
    poller
        .register(a.as_raw_fd(), T, Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(8);
    for _ in 0..5 {
        let start = Instant::now();
        let n = poller.wait(&mut events, Some(timeout)).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(n, 0, "{:?}", events);
        assert!(
            elapsed >= timeout,
            "{timeout:?} wait returned after {elapsed:?}"
        );
        assert!(elapsed < LIMIT, "{timeout:?} wait hung for {elapsed:?}");
    }
}

/// Waits with `timeout` for an event this thread makes 50 ms later, and asserts the wait
/// returns that event (not an error, not zero events) and not before it happened.
#[track_caller]
fn assert_wait_returns_on_a_later_event(timeout: Option<Duration>) {
    // Steps:
    // 1. register `a` of a socket pair for READABLE only, so nothing is ready yet;
    // 2. a waiter thread calls wait(timeout) and sends back what it saw and when;
    // 3. this thread sleeps 50 ms, notes the instant, then sends on `b`;
    // 4. the waiter's result arrives within a bounded time (else the test fails rather
    //    than hangs), holds the event, and was taken no earlier than the send.
    let poller = Poller::new().unwrap();
    let (a, b) = Socket::pair(Type::Stream).unwrap();
    poller
        .register(a.as_raw_fd(), T, Interest::READABLE)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        let result = poller.wait(&mut events, timeout);
        let returned_at = Instant::now();
        let seen: Vec<_> = events.iter().collect();
        let _ = tx.send((result, seen, returned_at));
    });
    thread::sleep(Duration::from_millis(50));
    let sent_at = Instant::now();
    b.send(b"wake").unwrap();
    let (result, seen, returned_at) = rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("wait({timeout:?}) did not return on the event"));
    let n = result.unwrap_or_else(|e| panic!("wait({timeout:?}) failed: {e}"));
    assert!(n >= 1, "wait({timeout:?}) returned no events");
    assert!(
        seen.iter()
            .any(|e| e.token == T && e.readiness.is_readable()),
        "{seen:?}"
    );
    assert!(
        returned_at >= sent_at,
        "wait({timeout:?}) returned before the event was made"
    );
    drop(a);
}

#[test]
fn zero_timeout_returns_with_no_events() {
    // Proves wait(Some(ZERO)) polls and returns 0 when nothing is ready (it does not block:
    // the generous bound only catches a hang).
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    assert!(events.is_empty());
    assert!(start.elapsed() < LIMIT, "a zero timeout blocked");
}

#[test]
fn one_millisecond_wait_never_returns_early() {
    // Proves a 1 ms timeout is honoured, not cut short.
    assert_waits_at_least(Duration::from_millis(1));
}

#[test]
fn sub_millisecond_wait_never_returns_early() {
    // Proves a 200 µs timeout neither becomes a zero-timeout poll (a busy loop) nor
    // returns before 200 µs, on epoll_pwait2 and on the epoll_wait round-up alike.
    assert_waits_at_least(Duration::from_micros(200));
}

#[test]
fn fifty_millisecond_wait_never_returns_early() {
    // Proves a 50 ms timeout is honoured, not cut short.
    assert_waits_at_least(Duration::from_millis(50));
}

#[test]
fn huge_finite_timeout_waits_for_the_event() {
    // Proves u64::MAX / 4 seconds (a deadline that still fits an Instant, far beyond any
    // single kernel sleep) neither errors nor returns at once: it returns on the event.
    assert_wait_returns_on_a_later_event(Some(Duration::from_secs(u64::MAX / 4)));
}

#[test]
fn duration_max_timeout_waits_for_the_event() {
    // Proves Duration::MAX (a deadline no Instant can hold) acts as "forever", not as
    // an overflow to zero or an EINVAL: it returns on the event.
    assert_wait_returns_on_a_later_event(Some(Duration::MAX));
}

#[test]
fn no_timeout_waits_for_the_event() {
    // Proves wait(None) blocks until an event made by another thread, then returns it.
    assert_wait_returns_on_a_later_event(None);
}
