//! Hostile overload (issue 10, section 7), the flood: a UDP socket that a foreign thread
//! keeps full, read by a task in a tight `recv` loop, does not starve the rest of the
//! runtime. A 10 ms interval keeps ticking and a second socket keeps answering pings,
//! each within 200 ms, on both flavors. On the current-thread flavor only the cooperative
//! budget makes the `recv` loop yield; on the multi-thread one it also keeps the loop's
//! worker serving the tasks queued behind it.
//!
//! The accept-side overload cases are in `hostile_overload.rs`. Its own test binary: the
//! flood takes a core, and another test beside it would turn its busy loop into this
//! test's latency (or the reverse).

use std::io::ErrorKind;
use std::net::UdpSocket as StdUdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use net::UdpSocket;
use runtime::time::{interval, sleep};
use tests::net::within;
use tests::rt::soak;
use tests::rt_test;

/// Longest an interval tick may be late, or a ping may wait for its answer. A starvation
/// bound, not a speed: the flood's loop would hold them for its whole run.
const MAX_LATE: Duration = Duration::from_millis(200);
/// Bound for anything that must merely happen; only a hang gets near it.
const LIMIT: Duration = Duration::from_secs(10);
/// The flood's datagram; a datagram starting with END tells the reader to stop.
const FLOOD: [u8; 32] = [0; 32];
const END: [u8; 32] = [1; 32];

/// The flavors' cases take turns: two floods at once on a small machine turn each
/// other's busy loops into latency.
static TURN: Mutex<()> = Mutex::new(());

rt_test! {
    // Proves that, while a foreign thread floods a UDP socket as fast as it can send (so
    // the socket is always readable: its receive buffer overflows) and a task loops on
    // `recv` from it, a 10 ms interval is never more than 200 ms late, and every ping a
    // second foreign thread sends every 10 ms to a UDP echo task is answered within
    // 200 ms; for 5 s (1 s in debug).
    // Steps: bind the flooded and the echo socket; start the reader, echo and ticker
    // tasks, then the flood and ping threads; after the run, stop the threads, send END
    // until the reader returns, stop the ticker; check the figures.
    async fn udp_flood_leaves_timers_and_other_sockets_running() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let run_for = Duration::from_millis(soak(5_000) as u64).max(Duration::from_secs(1));
        let flooded = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (flooded_addr, echo_addr) =
            (flooded.local_addr().unwrap(), echo.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let reader = runtime::spawn(read_flood(flooded.clone()));
        let echoer = runtime::spawn(echo_all(echo));
        let ticker = runtime::spawn(ticker(stop.clone()));
        sleep(Duration::from_millis(10)).await; // all three wait on their source
        let flooder = flood(flooded_addr, stop.clone());
        let pinger = ping(echo_addr, stop.clone());
        sleep(run_for).await;
        stop.store(true, Ordering::Relaxed);
        let sent = join(flooder).await;
        let (pings, slowest_ping) = join(pinger).await;
        let end = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        let received = within(LIMIT, "the flood reader's end", async {
            while !reader.is_finished() {
                end.send_to(&END, flooded_addr).unwrap();
                sleep(Duration::from_millis(5)).await;
            }
            reader.await.unwrap()
        })
        .await;
        let (ticks, latest_tick) = ticker.await.unwrap();
        echoer.abort();
        println!(
            "{run_for:?}: {sent} datagrams sent, {received} received; {ticks} ticks, \
             latest {latest_tick:?}; {pings} pings, slowest {slowest_ping:?}"
        );
        assert!(
            received < sent,
            "the reader kept up with the flood ({received} of {sent}): the socket was not \
             always readable, so this proves nothing"
        );
        assert!(received > 10_000, "only {received} datagrams read");
        assert!(ticks >= 10 && pings >= 10, "{ticks} ticks, {pings} pings");
        assert!(latest_tick < MAX_LATE, "an interval tick came {latest_tick:?} late");
        assert!(slowest_ping < MAX_LATE, "a ping waited {slowest_ping:?} for its answer");
    }
}

/// Reads datagrams from `socket` until one starts with END; returns how many it read.
async fn read_flood(socket: Arc<UdpSocket>) -> u64 {
    let (mut buf, mut count) = ([0u8; 64], 0);
    loop {
        let n = socket.recv_from(&mut buf).await.unwrap().0;
        if buf[..n].starts_with(&END) {
            return count;
        }
        count += 1;
    }
}

/// Sends every datagram back where it came from.
async fn echo_all(socket: UdpSocket) {
    let mut buf = [0u8; 64];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        socket.send_to(&buf[..n], from).await.unwrap();
    }
}

/// Ticks a 10 ms interval until `stop`; returns (ticks, the latest a tick came).
async fn ticker(stop: Arc<AtomicBool>) -> (u64, Duration) {
    let mut every = interval(Duration::from_millis(10));
    let (mut ticks, mut latest) = (0, Duration::ZERO);
    while !stop.load(Ordering::Relaxed) {
        let due = every.tick().await;
        (ticks, latest) = (ticks + 1, latest.max(due.elapsed()));
    }
    (ticks, latest)
}

/// A foreign thread sending FLOOD to `to` as fast as it can until `stop`; returns the
/// datagrams sent.
fn flood(to: std::net::SocketAddr, stop: Arc<AtomicBool>) -> Handle<u64> {
    let socket = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(to).unwrap();
    let thread = thread::spawn(move || {
        let mut count = 0;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..64 {
                match socket.send(&FLOOD) {
                    Ok(_) => count += 1,
                    // A full send queue: the loopback is busy, try again.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                    Err(e) => panic!("the flood's send: {e}"),
                }
            }
        }
        count
    });
    Handle(thread)
}

/// A foreign thread pinging `to` every 10 ms until `stop`, each ping answered before the
/// next; returns (pings answered, the slowest answer).
fn ping(to: std::net::SocketAddr, stop: Arc<AtomicBool>) -> Handle<(u64, Duration)> {
    let socket = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(to).unwrap();
    socket.set_read_timeout(Some(LIMIT)).unwrap();
    let thread = thread::spawn(move || {
        let (mut pings, mut slowest) = (0u64, Duration::ZERO);
        let mut back = [0u8; 16];
        while !stop.load(Ordering::Relaxed) {
            let start = Instant::now();
            socket.send(&pings.to_be_bytes()).unwrap();
            let n = socket
                .recv(&mut back)
                .unwrap_or_else(|e| panic!("ping {pings} unanswered: {e}"));
            assert_eq!(back[..n], pings.to_be_bytes(), "the answer to ping {pings}");
            (pings, slowest) = (pings + 1, slowest.max(start.elapsed()));
            thread::sleep(Duration::from_millis(10));
        }
        (pings, slowest)
    });
    Handle(thread)
}

/// A foreign thread of this test, joined (and its panic resumed) by [`join`].
struct Handle<T>(thread::JoinHandle<T>);

/// Waits for the thread without blocking the runtime (the ping thread needs the echo
/// task to finish its last ping), then joins it.
async fn join<T>(handle: Handle<T>) -> T {
    within(LIMIT, "a foreign thread's end", async {
        while !handle.0.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    handle
        .0
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
