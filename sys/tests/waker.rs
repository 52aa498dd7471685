//! The poller waker: it wakes a blocked wait from another thread, any number of wakes
//! coalesce into one event, and once reset it stays quiet.

mod util;

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sys::{Events, Poller, Token, Waker};
use util::{LIMIT, events_within, wait_for};

const WAKER: Token = Token(42);
const QUIET: Duration = Duration::from_millis(50);

#[test]
fn wake_from_another_thread_unblocks_a_wait_without_timeout() {
    // Proves a thread blocked in wait(None) returns when another thread calls wake, and
    // the event carries the waker's token. Steps:
    // 1. a waiter thread calls wait(None) and sends what it saw over a channel;
    // 2. this thread gives it time to block (the order does not matter for correctness:
    //    a wake before the wait is pending and still reported), then wakes;
    // 3. the result must arrive within a bounded time, or the test fails instead of hanging.
    let poller = Arc::new(Poller::new().unwrap());
    let waker = Waker::new(&poller, WAKER).unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = Arc::clone(&poller);
    thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        let n = waiter.wait(&mut events, None);
        let _ = tx.send(n.map(|n| (n, events.iter().collect::<Vec<_>>())));
    });
    thread::sleep(QUIET);
    waker.wake().unwrap();
    let (n, seen) = rx
        .recv_timeout(LIMIT)
        .expect("wait(None) was not woken")
        .expect("wait(None) failed");
    assert_eq!(n, seen.len());
    assert!(
        seen.iter()
            .any(|e| e.token == WAKER && e.readiness.is_readable()),
        "{seen:?}"
    );
}

#[test]
fn many_wakes_coalesce_and_reset_leaves_the_poller_quiet() {
    // Proves the wake contract under a flood. Steps:
    // 1. 100,000 wakes with no wait in between all succeed (a full counter is not an error);
    // 2. the next wait reports the waker's token;
    // 3. after reset, three 50 ms waits report nothing (the poller does not spin on a
    //    stale wake), and the first of them really waited rather than returning at once.
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, WAKER).unwrap();
    for i in 0..100_000 {
        if let Err(e) = waker.wake() {
            panic!("wake #{i} failed: {e}");
        }
    }
    let mut events = Events::with_capacity(8);
    wait_for(&poller, &mut events, WAKER, |r| r.is_readable());
    waker.reset();

    let start = Instant::now();
    let first = events_within(&poller, QUIET);
    let waited = start.elapsed();
    let mut seen = first;
    for _ in 0..2 {
        seen.extend(events_within(&poller, QUIET));
    }
    assert!(seen.is_empty(), "reported after reset: {seen:?}");
    assert!(
        waited >= QUIET,
        "wait returned after {waited:?}, before {QUIET:?}"
    );
}

#[test]
fn wake_after_reset_is_reported_again() {
    // Proves a waker is reusable: wake, wait, reset, and the next wake is a new event.
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, WAKER).unwrap();
    let mut events = Events::with_capacity(8);
    for round in 0..3 {
        waker.wake().unwrap();
        wait_for(&poller, &mut events, WAKER, |r| r.is_readable());
        waker.reset();
        let quiet = events_within(&poller, Duration::ZERO);
        assert!(quiet.is_empty(), "round {round}: {quiet:?}");
    }
}
