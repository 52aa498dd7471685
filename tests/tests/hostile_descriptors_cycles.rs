//! Hostile descriptors, part 2: 30,000 TCP connection cycles (FIN and RST, either side
//! closing first, a stream dropped while its task is parked in a read, and while its
//! writer is parked on a full send buffer), then 10,000 UDP and 10,000 Unix (stream and
//! datagram) cycles, on each flavor, 8 tasks side by side: the process's descriptor count
//! is back at its baseline after every 5,000 cycles. Each flavor runs in a child process of this binary,
//! so no other test's descriptors count. Sizes go through [`tests::rt::soak`]; CI runs
//! this file at full size in release.

use std::io;
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use runtime::task::JoinHandle;
use tests::net::{SelfChild, TempDir, child_mode, fd_target, within};
use tests::process::rss_bytes;
use tests::rt::{Flavor, count_when_pending, fd_count, soak, yield_until};

const LIMIT: Duration = Duration::from_secs(20);
const MODE: &str = "HOSTILE_FD_CYCLES_CHILD";
const CHILD: &str = "child_body_socket_cycles";
const DONE: &str = "CYCLES-DONE";
/// The child's watchdog: it is killed if it runs longer.
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// Counts cycles and compares the descriptor count with the baseline every `every`.
struct Ledger {
    /// VmRSS after the warm-up, for the report.
    rss_before: u64,
    baseline: usize,
    every: usize,
    cycles: usize,
    checks: usize,
}

impl Ledger {
    /// `n` more cycles of `family` are done: compares the count if that completes a
    /// multiple of `every`.
    fn add(&mut self, n: usize, family: Family) {
        self.cycles += n;
        if self.cycles % self.every == 0 {
            let now = fd_count();
            assert_eq!(
                now, self.baseline,
                "open descriptors after {} cycles (the last {family:?})",
                self.cycles
            );
            self.checks += 1;
        }
    }
}

/// Parks a task on `op` (its first `Pending`), then aborts it and awaits the
/// cancellation: the task's socket `fd` is dropped mid-operation, and is closed by the
/// time the `JoinHandle` reports the cancellation: `fd` is gone or (reused by another
/// lane) names another socket.
async fn abort_when_parked<T: Send + 'static>(
    op: impl Future<Output = T> + Send + 'static,
    fd: RawFd,
    what: &str,
) {
    let target = fd_target(fd);
    let parked = Arc::new(AtomicUsize::new(0));
    let task: JoinHandle<T> = runtime::spawn(count_when_pending(op, parked.clone()));
    yield_until(|| parked.load(Ordering::SeqCst) == 1).await;
    task.abort();
    let err = within(LIMIT, what, task).await.err();
    assert!(
        err.is_some_and(|e| e.is_cancelled()),
        "{what}: not cancelled"
    );
    let now = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
    assert!(
        now.is_none_or(|now| now.to_string_lossy() != target),
        "{what}: fd {fd} ({target}) still open when the JoinHandle reported the cancellation"
    );
}

/// `first` writes and closes (FIN); `second` reads everything, then EOF, and closes.
async fn fin_close<S: AsyncReadExt + AsyncWriteExt + Unpin>(mut first: S, mut second: S) {
    first.write_all(b"bye").await.unwrap();
    drop(first);
    let mut got = Vec::new();
    within(LIMIT, "read to EOF", second.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, b"bye");
}

/// `first` closes with SO_LINGER 0 (RST); `second`'s read reports the reset.
async fn rst_close(first: TcpStream, mut second: TcpStream) {
    first.set_linger(Some(Duration::ZERO)).unwrap();
    drop(first);
    let err = within(LIMIT, "read after RST", second.read(&mut [0u8; 8]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

/// `reader`'s task is parked in a read when it is aborted; `other` then sees EOF.
async fn drop_mid_read<S>(mut reader: S, mut other: S)
where
    S: AsyncReadExt + AsRawFd + Unpin + Send + 'static,
{
    let fd = reader.as_raw_fd();
    let read = async move { reader.read(&mut [0u8; 8]).await };
    abort_when_parked(read, fd, "abort a parked read").await;
    let n = within(
        LIMIT,
        "EOF after the reader's drop",
        other.read(&mut [0u8; 8]),
    )
    .await
    .unwrap();
    assert_eq!(n, 0, "EOF once the parked reader is dropped");
}

/// `writer`'s task fills the send buffer and is parked on it when it is aborted; `other`
/// then reads exactly the bytes the writes reported, and EOF.
async fn drop_mid_write(mut writer: TcpStream, mut other: TcpStream) {
    let fd = writer.as_raw_fd();
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    let write = async move {
        let chunk = [7u8; 16 * 1024];
        loop {
            let n = writer.write(&chunk).await.unwrap();
            count.fetch_add(n, Ordering::SeqCst);
        }
    };
    abort_when_parked(write, fd, "abort a writer parked on a full buffer").await;
    let mut got = Vec::new();
    within(LIMIT, "read what was written", other.read_to_end(&mut got))
        .await
        .unwrap();
    let written = written.load(Ordering::SeqCst);
    assert!(written > 0, "the writer wrote before it parked");
    assert_eq!(got.len(), written, "bytes received after the writer's drop");
}

/// One TCP connection, closed in way `i % 6`.
async fn tcp_cycle(listener: &TcpListener, i: usize) {
    let socket = TcpSocket::new_v4().unwrap();
    if i % 6 == 5 {
        socket.set_send_buffer_size(4096).unwrap();
    }
    let client = within(
        LIMIT,
        "connect",
        socket.connect(listener.local_addr().unwrap()),
    )
    .await
    .unwrap();
    let (server, _) = within(LIMIT, "accept", listener.accept()).await.unwrap();
    match i % 6 {
        0 => fin_close(client, server).await,
        1 => fin_close(server, client).await,
        2 => rst_close(client, server).await,
        3 => rst_close(server, client).await,
        4 => drop_mid_read(server, client).await,
        _ => drop_mid_write(client, server).await,
    }
}

/// Two UDP sockets: a round trip by address, by `connect`, or a receive dropped while
/// parked.
async fn udp_cycle(i: usize) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let mut buf = [0u8; 8];
    match i % 3 {
        0 => {
            a.send_to(b"ping", b_addr).await.unwrap();
            let (n, from) = within(LIMIT, "udp recv_from", b.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
        }
        1 => {
            a.connect(b_addr).await.unwrap();
            b.connect(a_addr).await.unwrap();
            b.send(b"pong").await.unwrap();
            let n = within(LIMIT, "udp recv", a.recv(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"pong");
        }
        _ => {
            let fd = b.as_raw_fd();
            let recv = async move { b.recv_from(&mut [0u8; 8]).await.map(|_| ()) };
            abort_when_parked(recv, fd, "abort a parked UDP receive").await;
        }
    }
}

/// Unix sockets: a connection through a listener's path, a pair closed with FIN or with
/// its reader dropped while parked, datagrams between two paths, a datagram pair.
async fn unix_cycle(dir: &TempDir, i: usize) {
    match i % 5 {
        0 => {
            let path = dir.join("listener");
            let listener = UnixListener::bind(&path).unwrap();
            let client = within(LIMIT, "unix connect", UnixStream::connect(&path))
                .await
                .unwrap();
            let (server, _) = within(LIMIT, "unix accept", listener.accept())
                .await
                .unwrap();
            drop(listener);
            std::fs::remove_file(&path).unwrap();
            fin_close(server, client).await;
        }
        1 => {
            let (a, b) = UnixStream::pair().unwrap();
            fin_close(a, b).await;
        }
        2 => {
            let (a, b) = UnixStream::pair().unwrap();
            drop_mid_read(a, b).await;
        }
        3 => {
            let (pa, pb) = (dir.join("a"), dir.join("b"));
            let (a, b) = (
                UnixDatagram::bind(&pa).unwrap(),
                UnixDatagram::bind(&pb).unwrap(),
            );
            a.send_to(b"ping", &pb).await.unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = within(LIMIT, "unix recv_from", b.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!((&buf[..n], from.as_pathname()), (&b"ping"[..], Some(&*pa)));
            drop((a, b));
            std::fs::remove_file(&pa).unwrap();
            std::fs::remove_file(&pb).unwrap();
        }
        _ => {
            let (a, b) = UnixDatagram::pair().unwrap();
            let unbound = UnixDatagram::unbound().unwrap();
            a.send(b"ping").await.unwrap();
            let mut buf = [0u8; 8];
            let n = within(LIMIT, "unix recv", b.recv(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            drop(unbound);
        }
    }
}

/// Cycles run side by side, each lane a task with its own listener and directory.
const LANES: usize = 8;

/// What one lane cycles through.
struct Lane {
    listener: TcpListener,
    dir: TempDir,
}

#[derive(Clone, Copy, Debug)]
enum Family {
    Tcp,
    Udp,
    Unix,
}

impl Lane {
    async fn new() -> Lane {
        Lane {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            dir: TempDir::new("hostile-cycles"),
        }
    }

    async fn cycle(&self, family: Family, i: usize) {
        match family {
            Family::Tcp => tcp_cycle(&self.listener, i).await,
            Family::Udp => udp_cycle(i).await,
            Family::Unix => unix_cycle(&self.dir, i).await,
        }
    }
}

/// Runs cycles `range` of `family` spread over the lanes, a task per lane, and waits for
/// them all.
async fn run_chunk(lanes: &[Arc<Lane>], family: Family, range: Range<usize>) {
    let tasks: Vec<_> = lanes
        .iter()
        .enumerate()
        .map(|(l, lane)| {
            let (lane, range) = (lane.clone(), range.clone());
            runtime::spawn(async move {
                for i in range.skip(l).step_by(LANES) {
                    lane.cycle(family, i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// The child's whole run: a warm-up of every kind of cycle in every lane, the baseline,
/// then the TCP, UDP and Unix cycles in chunks of 5,000 over the lanes, the count checked
/// after each chunk. Returns the ledger.
async fn all_cycles(tcp: usize, udp: usize, unix: usize) -> Ledger {
    let mut lanes = Vec::new();
    for _ in 0..LANES {
        lanes.push(Arc::new(Lane::new().await));
    }
    for family in [Family::Tcp, Family::Udp, Family::Unix] {
        run_chunk(&lanes, family, 0..6 * LANES).await;
    }
    let mut ledger = Ledger {
        rss_before: rss_bytes(),
        baseline: fd_count(),
        every: soak(5_000),
        cycles: 0,
        checks: 0,
    };
    for (family, n) in [(Family::Tcp, tcp), (Family::Udp, udp), (Family::Unix, unix)] {
        for start in (0..n).step_by(ledger.every) {
            let end = n.min(start + ledger.every);
            run_chunk(&lanes, family, start..end).await;
            ledger.add(end - start, family);
        }
    }
    assert_eq!(fd_count(), ledger.baseline, "open descriptors at the end");
    ledger
}

// Proves that no connection cycle leaks or double-closes a descriptor: after every
// 5,000 of 30,000 TCP cycles (six ways to end a connection: FIN from the client or
// the server, RST from either, the server's stream dropped while its task is parked in
// a read, the client's while its writer is parked on a full send buffer), 10,000 UDP
// cycles (a round trip by address, one by `connect`, a receive aborted while parked)
// and 10,000 Unix cycles (a connection through a path, a pair closed with FIN or with
// a parked reader aborted, datagrams between paths, a datagram pair), the process has
// exactly its baseline of open descriptors; and every cycle ends as it must (the bytes
// arrive, then EOF; the RST is reported as ConnectionReset; a dropped writer's peer
// receives exactly the bytes its writes reported).
// Also: a task aborted while parked has closed its socket by the time its JoinHandle
// reports the cancellation.
// Steps: a child process of this binary, told the flavor, opens 8 lanes (a listener and
// a directory each), runs every kind of cycle in every lane, takes /proc/self/fd's
// count as the baseline, then runs the cycles in chunks of 5,000, each chunk spread
// over 8 tasks (one per lane, cycles one after another within a task), and compares
// the count after every chunk and at the end; the parent checks its exit status and
// its report.
// Each flavor is a test of its own; the child's watchdog (it is killed after 120 s) is
// the hang guard, as the full size takes longer than `rt_test!`'s 30 s on a busy machine.
mod socket_cycles_return_to_the_baseline_descriptor_count {
    use super::*;

    #[test]
    fn current_thread() {
        run_child(Flavor::CurrentThread);
    }

    #[test]
    fn multi_thread() {
        run_child(Flavor::MultiThread);
    }
}

/// Runs the cycles in a child process told `flavor`, and checks it finished them.
fn run_child(flavor: Flavor) {
    let done = SelfChild::spawn(CHILD, MODE, flavor.name()).finish_with_line(DONE, CHILD_LIMIT);
    println!("{flavor:?}: {done}");
}

/// The child process body, run only by the test above (`--ignored --exact` with the mode
/// set to a flavor's name).
#[test]
#[ignore = "child-process body: run by socket_cycles_return_to_the_baseline_descriptor_count"]
fn child_body_socket_cycles() {
    let Some(name) = child_mode(MODE) else {
        return;
    };
    let flavor = Flavor::from_name(&name);
    let (tcp, udp, unix) = (soak(30_000), soak(10_000), soak(10_000));
    let start = Instant::now();
    let ledger = flavor.block_on(all_cycles(tcp, udp, unix));
    assert_eq!(ledger.cycles, tcp + udp + unix);
    assert_eq!(ledger.checks, ledger.cycles / ledger.every);
    println!(
        "\n{DONE} {tcp} TCP + {udp} UDP + {unix} Unix cycles, {} checks at {} fds, in {:?}; \
         RSS {} KiB after the warm-up, {} KiB at the end",
        ledger.checks,
        ledger.baseline,
        start.elapsed(),
        ledger.rss_before / 1024,
        rss_bytes() / 1024,
    );
}
