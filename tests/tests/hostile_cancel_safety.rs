//! Cancel safety (issue 10, section 8, second part): an accept or a read raced against a
//! short sleep, and dropped whenever the sleep wins, loses nothing: `select(accept, 1 ms
//! sleep)` over 20,000 connections accepts every one exactly once, and `select(read,
//! sleep)` over a 64 MiB stream reads every byte (length and hash equal).
//!
//! A dropped `accept()` or `read()` future must leave the readiness it saw for the next
//! one: if dropping it consumed the edge, the next future would wait for an edge that
//! already came, and the loop would stall with a connection queued or bytes unread (a
//! stall of 5 s fails the test, naming how far it got). The peers are foreign std threads
//! whose pauses make the sleep win often (each test asserts it did, so cancellation really
//! happened). Sizes come from [`tests::rt::soak`]; each test has its own hang limit.

use std::collections::HashSet;
use std::io::Write;
use std::pin::pin;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use futures_util::io::AsyncReadExt;
use runtime::time::sleep;
use tests::net::{TempDir, payload, within};
use tests::rt::{Lcg, mailbox, soak};
use tests::stream::{Fnv, Transport};

/// The longest the loop may go without progress before it counts as stalled.
const STALL: Duration = Duration::from_secs(5);

/// Makes `n` connections to `addr`, each sending its index, pausing now and then for up
/// to 1.5 ms so the accept loop's 1 ms sleep wins some races.
fn connect_many(addr: std::net::SocketAddr, n: usize) {
    let mut rng = Lcg::new(n as u64);
    for id in 0..n {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(&(id as u32).to_le_bytes()).unwrap();
        if rng.below(4) == 0 {
            thread::sleep(Duration::from_micros(rng.below(1_500)));
        }
    }
}

/// Accepts `n` connections, each `accept()` raced by a 1 ms sleep; returns the ids read
/// from them and how many accepts the sleep cancelled.
async fn accept_raced_by_sleep(n: usize) -> (Vec<u32>, usize) {
    let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || connect_many(addr, n));
    let (ids_tx, mut ids) = mailbox();
    let (mut accepted, mut cancelled) = (0, 0);
    let mut last_progress = Instant::now();
    while accepted < n {
        let accept = pin!(listener.accept());
        let tick = pin!(sleep(Duration::from_millis(1)));
        match select(accept, tick).await {
            Either::Left((stream, _)) => {
                let (mut stream, _) = stream.unwrap();
                accepted += 1;
                last_progress = Instant::now();
                let ids_tx = ids_tx.clone();
                runtime::spawn(async move {
                    let mut id = [0u8; 4];
                    within(STALL, "an id", stream.read_exact(&mut id))
                        .await
                        .unwrap();
                    ids_tx.send(u32::from_le_bytes(id));
                });
            }
            Either::Right(_) => {
                cancelled += 1;
                let idle = last_progress.elapsed();
                assert!(
                    idle < STALL,
                    "accepted {accepted} of {n}, then nothing for {idle:?}"
                );
            }
        }
    }
    drop(ids_tx);
    let mut seen = Vec::with_capacity(n);
    while let Some(id) = within(STALL, "the ids", ids.recv()).await {
        seen.push(id);
    }
    client.join().unwrap();
    (seen, cancelled)
}

/// Writes `len` bytes in random pieces (1 byte to 64 KiB), pausing up to 300 µs after
/// half of them; returns their hash.
fn write_pausing(mut writer: tests::stream::StdEnd, len: usize, seed: u64) -> u64 {
    let mut rng = Lcg::new(seed);
    let mut hash = Fnv::new();
    let mut sent = 0;
    while sent < len {
        let n = (1 + rng.below(64 << 10) as usize).min(len - sent);
        let piece = payload(seed + sent as u64, n);
        writer.write_all(&piece).unwrap();
        hash.bytes(&piece);
        sent += n;
        if rng.below(2) == 0 {
            thread::sleep(Duration::from_micros(rng.below(300)));
        }
    }
    hash.finish()
}

/// Reads a `len`-byte stream with each `read()` (of 1 byte to 64 KiB) raced by a sleep of
/// 0 to 200 µs; returns (bytes, hash of them, reads cancelled, hash the writer sent).
async fn read_raced_by_sleep(len: usize) -> (usize, u64, usize, u64) {
    let dir = TempDir::new("cancel");
    let (mut reader, writer) = Transport::Tcp.connect(&dir).await.unwrap();
    let writer = thread::spawn(move || write_pausing(writer, len, 11));
    let mut rng = Lcg::new(3);
    let mut buf = vec![0u8; 64 << 10];
    let (mut got, mut hash, mut cancelled) = (0, Fnv::new(), 0);
    let mut last_progress = Instant::now();
    loop {
        let want = 1 + rng.below(buf.len() as u64) as usize;
        let nap = Duration::from_micros(rng.below(200));
        let outcome = {
            let read = pin!(reader.read(&mut buf[..want]));
            match select(read, pin!(sleep(nap))).await {
                Either::Left((read, _)) => Some(read.unwrap()),
                Either::Right(_) => None,
            }
        };
        match outcome {
            Some(0) => break,
            Some(n) => {
                hash.bytes(&buf[..n]);
                got += n;
                last_progress = Instant::now();
            }
            None => {
                cancelled += 1;
                let idle = last_progress.elapsed();
                assert!(
                    idle < STALL,
                    "read {got} of {len} bytes, then nothing for {idle:?}"
                );
            }
        }
    }
    let sent = writer.join().unwrap();
    (got, hash.finish(), cancelled, sent)
}

tests::long_rt_test! {
    limit = Duration::from_secs(300);

    // Proves: an `accept()` future dropped whenever a 1 ms sleep wins the race loses no
    // connection: 20,000 connections, each accepted exactly once (every id seen once).
    fn select_accept_with_sleep_loses_no_connection(flavor) {
        let n = soak(20_000);
        let started = Instant::now();
        let (ids, cancelled) = flavor.block_on(accept_raced_by_sleep(n));
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(ids.len(), n, "connections accepted and read");
        let distinct: HashSet<u32> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), n, "each connection accepted once");
        assert!(distinct.iter().all(|&id| (id as usize) < n), "ids are the client's");
        assert!(cancelled > 0, "the sleep never won: no accept was cancelled");
        println!("{flavor:?}: {n} connections accepted, {cancelled} accepts cancelled, {secs:.1} s");
    }

    // Proves: a `read()` future dropped whenever a short sleep wins the race loses no byte:
    // a 64 MiB stream read this way arrives whole (length and hash equal).
    fn select_read_with_sleep_loses_no_byte(flavor) {
        let len = soak(64 << 20);
        let started = Instant::now();
        let (got, hash, cancelled, sent) = flavor.block_on(read_raced_by_sleep(len));
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(got, len, "bytes read");
        assert_eq!(hash, sent, "hash of what was read");
        assert!(cancelled > 0, "the sleep never won: no read was cancelled");
        println!("{flavor:?}: {len} bytes read, {cancelled} reads cancelled, {secs:.1} s");
    }
}
