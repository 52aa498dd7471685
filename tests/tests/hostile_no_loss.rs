//! No loss (issue 10, section 8, first part): 1,000 connections x 1,000 sequenced 512-byte
//! messages, each written in randomly sized pieces and read with randomly sized buffers,
//! with 10% of the connections dropped mid-stream (half closed with FIN, half reset) and
//! reopened: every message the server saw arrived exactly once and in order, and the server
//! ends with all of them. (The cancel-safety half of section 8 is in
//! `hostile_cancel_safety.rs`.)
//!
//! The protocol makes "once and in order" checkable. A message is `(conn id, seq)` in its
//! first 8 bytes and 504 bytes derived from both. A connection starts with a hello (the
//! conn id); the server answers with the next seq it expects for that id, and then accepts
//! only that seq, then the next, and so on. The server's per-id record is an async mutex
//! that one handler holds for its connection's whole life, so a reopened connection's hello
//! waits until the dropped one has been read to its end: its answer counts every whole
//! message the old connection delivered, and the partial message it ended with (checked to
//! be a prefix of the expected one) is discarded. The client resumes from that answer. A
//! connection closed with FIN must have delivered every whole message the client wrote
//! (the answer equals the client's count); one reset may have lost some in the kernel (at
//! most that count), which the client then sends again.
//!
//! Sizes come from [`tests::rt::soak`] (a tenth of the connections and of the messages in
//! debug); at most 100 connections are open at once. Each flavor's run has its own hang
//! limit, and every accept and read is bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream};
use runtime::task::JoinHandle;
use tests::net::{payload, within};
use tests::rt::{Lcg, soak};

const MESSAGE: usize = 512;
const HEADER: usize = 8;
/// Client connections open at once (so a run stays far below the descriptor limit).
const AT_ONCE: usize = 100;
/// Bound for any one accept, read or connection; only a lost wakeup gets near it.
const LIMIT: Duration = Duration::from_secs(60);

/// Message `seq` of connection `conn`.
fn message(conn: u32, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(MESSAGE);
    m.extend_from_slice(&conn.to_le_bytes());
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend(payload(
        (u64::from(conn) << 32) | u64::from(seq),
        MESSAGE - HEADER,
    ));
    m
}

/// How a connection's first stream ends, if it is one of the dropped ones.
#[derive(Clone, Copy, Debug)]
struct Cut {
    /// Whole messages written before the drop.
    after: u32,
    /// Bytes of the next message written before the drop (1 to 511).
    partial: usize,
    /// Reset (`SO_LINGER` 0) rather than closed.
    reset: bool,
}

/// Every tenth connection is dropped, after a random number of messages.
fn plan(conn: u32, messages: u32) -> Option<Cut> {
    if conn % 10 != 0 {
        return None;
    }
    let mut rng = Lcg::new(u64::from(conn) + 7);
    Some(Cut {
        after: rng.below(u64::from(messages)) as u32,
        partial: 1 + rng.below(MESSAGE as u64 - 1) as usize,
        reset: conn % 20 == 0,
    })
}

/// The server's record: per connection id, the next seq it expects.
struct Ledger(Vec<async_lock::Mutex<u32>>);

/// What one server handler saw.
#[derive(Debug, Default)]
struct Served {
    messages: u32,
    partial_discarded: bool,
}

/// Accepts `total` connections and serves each in its own task.
async fn serve(
    listener: TcpListener,
    ledger: Arc<Ledger>,
    total: usize,
) -> Vec<JoinHandle<Served>> {
    let mut handlers = Vec::with_capacity(total);
    for i in 0..total {
        let (stream, _) = within(LIMIT, "an accept", listener.accept()).await.unwrap();
        handlers.push(runtime::spawn(handle(stream, ledger.clone(), i as u64)));
    }
    handlers
}

/// Reads one connection to its end with random buffer sizes, checking every message.
async fn handle(mut stream: TcpStream, ledger: Arc<Ledger>, seed: u64) -> Served {
    let mut hello = [0u8; 4];
    within(LIMIT, "a hello", stream.read_exact(&mut hello))
        .await
        .unwrap();
    let conn = u32::from_le_bytes(hello);
    // Held to the end: a reopened connection of this id waits here for this one.
    let mut next = ledger.0[conn as usize].lock().await;
    stream.write_all(&next.to_le_bytes()).await.unwrap();
    let mut rng = Lcg::new(seed);
    let mut served = Served::default();
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 2 * MESSAGE];
    loop {
        let want = 1 + rng.below(buf.len() as u64) as usize;
        let n = match within(LIMIT, "a read", stream.read(&mut buf[..want])).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("conn {conn}: read: {e}"),
        };
        pending.extend_from_slice(&buf[..n]);
        let whole = pending.len() / MESSAGE * MESSAGE;
        for got in pending[..whole].chunks(MESSAGE) {
            check_message(conn, *next, got);
            *next += 1;
            served.messages += 1;
        }
        pending.drain(..whole);
    }
    if !pending.is_empty() {
        let expected = message(conn, *next);
        assert!(
            expected.starts_with(&pending),
            "conn {conn}: the partial message at the end is not a prefix of seq {}",
            *next
        );
        served.partial_discarded = true;
    }
    served
}

/// Asserts `got` is message `seq` of `conn`, naming what it is instead if not.
fn check_message(conn: u32, seq: u32, got: &[u8]) {
    let field = |at: usize| u32::from_le_bytes(got[at..at + 4].try_into().unwrap());
    assert_eq!(
        (field(0), field(4)),
        (conn, seq),
        "(conn, seq) out of order, duplicated or lost"
    );
    assert!(
        got == message(conn, seq),
        "conn {conn} seq {seq}: body corrupted"
    );
}

/// Opens a connection for `conn` and returns it with the seq the server expects next.
async fn open(addr: SocketAddr, conn: u32) -> (TcpStream, u32) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&conn.to_le_bytes()).await.unwrap();
    let mut next = [0u8; 4];
    within(LIMIT, "the server's answer", stream.read_exact(&mut next))
        .await
        .unwrap();
    (stream, u32::from_le_bytes(next))
}

/// Writes message `seq` in random pieces, or only its first `len` bytes.
async fn send(stream: &mut TcpStream, conn: u32, seq: u32, len: usize, rng: &mut Lcg) {
    let m = message(conn, seq);
    let mut rest = &m[..len];
    while !rest.is_empty() {
        let n = 1 + rng.below(MESSAGE as u64) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        stream.write_all(piece).await.unwrap();
        rest = tail;
    }
}

/// One client connection's life, dropped and reopened if `plan` says so; returns how many
/// messages it sent again after a reset.
async fn client(addr: SocketAddr, conn: u32, messages: u32) -> u32 {
    let mut rng = Lcg::new(u64::from(conn));
    let (mut stream, mut next) = open(addr, conn).await;
    assert_eq!(next, 0, "conn {conn}: a fresh id starts at 0");
    let mut resent = 0;
    if let Some(cut) = plan(conn, messages) {
        for seq in 0..cut.after {
            send(&mut stream, conn, seq, MESSAGE, &mut rng).await;
        }
        send(&mut stream, conn, cut.after, cut.partial, &mut rng).await;
        if cut.reset {
            stream.set_linger(Some(Duration::ZERO)).unwrap();
        }
        std::mem::drop(stream);
        (stream, next) = open(addr, conn).await;
        if cut.reset {
            assert!(
                next <= cut.after,
                "conn {conn}: resumes at {next} of {}",
                cut.after
            );
            resent = cut.after - next;
        } else {
            assert_eq!(next, cut.after, "conn {conn}: whole messages before a FIN");
        }
    }
    for seq in next..messages {
        send(&mut stream, conn, seq, MESSAGE, &mut rng).await;
    }
    resent
}

/// The whole run on one runtime: returns (handlers' reports, resent after resets).
async fn run(conns: u32, messages: u32) -> (Vec<Served>, u32) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let drops = (0..conns).filter(|&c| plan(c, messages).is_some()).count();
    let ledger = Arc::new(Ledger(
        (0..conns).map(|_| async_lock::Mutex::new(0)).collect(),
    ));
    let server = runtime::spawn(serve(listener, ledger.clone(), conns as usize + drops));
    let next_conn = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..AT_ONCE.min(conns as usize))
        .map(|_| {
            let next_conn = next_conn.clone();
            runtime::spawn(async move {
                let mut resent = 0;
                loop {
                    let conn = next_conn.fetch_add(1, Ordering::Relaxed) as u32;
                    if conn >= conns {
                        return resent;
                    }
                    resent += client(addr, conn, messages).await;
                }
            })
        })
        .collect();
    let mut resent = 0;
    for worker in workers {
        resent += worker.await.unwrap();
    }
    let mut served = Vec::new();
    for handler in server.await.unwrap() {
        served.push(within(LIMIT, "a handler", handler).await.unwrap());
    }
    for (conn, next) in ledger.0.iter().enumerate() {
        assert_eq!(
            *next.lock().await,
            messages,
            "conn {conn}: messages the server holds"
        );
    }
    (served, resent)
}

tests::long_rt_test! {
    limit = Duration::from_secs(600);

    // Proves: over 1,000 connections x 1,000 messages written in random pieces and read
    // with random buffers, with 10% of the connections dropped and reopened mid-stream,
    // every message arrives exactly once and in order (see the file's comment for how).
    fn sequenced_messages_survive_dropped_connections(flavor) {
        let (conns, messages) = (soak(1_000) as u32, soak(1_000) as u32);
        let started = Instant::now();
        let (served, resent) = flavor.block_on(run(conns, messages));
        let secs = started.elapsed().as_secs_f64();
        let drops = (0..conns).filter(|&c| plan(c, messages).is_some()).count();
        assert_eq!(served.len(), conns as usize + drops, "one handler per connection");
        let seen: u64 = served.iter().map(|s| u64::from(s.messages)).sum();
        assert_eq!(seen, u64::from(conns) * u64::from(messages), "messages seen, each once");
        let partials = served.iter().filter(|s| s.partial_discarded).count();
        let closed = (0..conns).filter(|&c| plan(c, messages).is_some_and(|cut| !cut.reset)).count();
        assert!(
            (closed..=drops).contains(&partials),
            "{partials} connections ended mid-message: every one closed with FIN mid-message \
             ({closed}) and at most every dropped one ({drops})"
        );
        println!(
            "{flavor:?}: {conns} connections x {messages} messages of {MESSAGE} bytes, {drops} \
             dropped and reopened ({partials} partial messages discarded, {resent} resent \
             after resets) in {secs:.1} s"
        );
    }
}
