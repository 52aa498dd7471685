//! The cooperative budget: a task whose resources are always ready (a socket a peer keeps
//! full, an elapsed timer, a descriptor whose readiness is kept, a CPU loop calling
//! `consume_budget`) still lets a 10 ms interval tick, and `timeout` still fires around it.
//!
//! Each greedy task stops by itself after `GREEDY_FOR`, so a runtime without the budget
//! fails these cases on their assertions (a gap of seconds) rather than hanging them. The
//! 500 ms bound is a starvation bound, not a speed: with the budget the gap is tens of ms
//! even in a debug build on a loaded machine; without it, the whole `GREEDY_FOR`.

use std::future::Future;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::io::AsyncReadExt;
use runtime::io::AsyncFd;
use runtime::task::{JoinHandle, consume_budget};
use runtime::time::{interval, sleep, timeout};
use tests::rt_test;

const PERIOD: Duration = Duration::from_millis(10);
/// How long the interval is watched.
const WATCH: Duration = Duration::from_secs(1);
/// The largest gap between two ticks a case accepts.
const MAX_GAP: Duration = Duration::from_millis(500);
/// How long a greedy task runs at most, if nobody stops it first.
const GREEDY_FOR: Duration = Duration::from_secs(3);

/// When a greedy task stops: told to, or `GREEDY_FOR` after it was made.
#[derive(Clone, Debug)]
struct Stop {
    flag: Arc<AtomicBool>,
    deadline: Instant,
}

impl Stop {
    fn new() -> Stop {
        Stop {
            flag: Arc::default(),
            deadline: Instant::now() + GREEDY_FOR,
        }
    }

    fn running(&self) -> bool {
        !self.flag.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// Spawns a task ticking a `PERIOD` interval for `WATCH`; it returns the largest gap
/// between two ticks, counted from now (a task starved before its first poll counts).
fn spawn_ticker() -> JoinHandle<Duration> {
    let mut every = interval(PERIOD);
    let start = Instant::now();
    runtime::spawn(async move {
        let (mut last, mut largest) = (start, Duration::ZERO);
        while last - start < WATCH {
            every.tick().await;
            let now = Instant::now();
            largest = largest.max(now - last);
            last = now;
        }
        largest
    })
}

/// Runs `greedy` (given its `Stop`, it returns how many operations it completed) next to
/// a ticker; asserts that the ticker never waited `MAX_GAP` and that `greedy` got work
/// done. The ticker is spawned first, so without the budget it is the one starved.
async fn assert_interval_ticks_beside<F>(what: &str, greedy: impl FnOnce(Stop) -> F)
where
    F: Future<Output = u64> + Send + 'static,
{
    let stop = Stop::new();
    let ticker = spawn_ticker();
    let greedy = runtime::spawn(greedy(stop.clone()));
    let largest_gap = ticker.await.unwrap();
    stop.stop();
    let operations = greedy.await.unwrap();
    assert!(operations > 0, "{what}: the greedy task never ran");
    assert!(
        largest_gap < MAX_GAP,
        "{what}: a {PERIOD:?} interval waited {largest_gap:?} between two ticks"
    );
}

/// A std thread writing into `stream` until `stop` (or until the reader goes away), so
/// the reader's socket stays readable. It closes its end when it returns.
fn spawn_writer(stream: std::net::TcpStream, stop: Stop) -> thread::JoinHandle<()> {
    // Bounded writes, so the thread notices `stop` while the socket is full.
    stream
        .set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    thread::spawn(move || {
        let chunk = [7u8; 16 * 1024];
        while stop.running() {
            match (&stream).write(&chunk) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break, // the reader closed its end
            }
        }
    })
}

rt_test! {
    // Proves the program: a task reading a TCP stream one byte at a time, which a
    // writer thread keeps full, yields often enough that a 10 ms interval beside it never
    // waits 500 ms. Without the budget the read is always ready (a full 1-byte read keeps
    // the readiness), so the task never returns `Pending` while data is there.
    // Steps: connect over 127.0.0.1; start the writer thread; spawn the ticker, then the
    // reader; after the ticker's second, stop both, then join the writer thread.
    fn tcp_reader_of_a_full_socket_lets_an_interval_tick(flavor) {
        let stop = Stop::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let writer = spawn_writer(server, stop.clone());
        flavor.block_on(async move {
            let stream = net::TcpStream::from_std(client).unwrap();
            assert_interval_ticks_beside("1-byte TCP reads", |reader_stop| async move {
                let mut stream = stream;
                let (mut byte, mut reads) = ([0u8; 1], 0);
                while reader_stop.running() && stream.read(&mut byte).await.unwrap() == 1 {
                    reads += 1;
                }
                reads
            })
            .await;
        });
        stop.stop();
        writer.join().unwrap();
    }

    // Proves that a task looping on a future that is always ready at once (a zero-length
    // `sleep`: an elapsed timer) is rewoken rather than polled forever, so an interval
    // beside it keeps ticking.
    async fn elapsed_timer_loop_lets_an_interval_tick() {
        assert_interval_ticks_beside("zero sleeps", |stop| async move {
            let mut sleeps = 0;
            while stop.running() {
                sleep(Duration::ZERO).await;
                sleeps += 1;
            }
            sleeps
        })
        .await;
    }

    // Proves that `AsyncFd`'s waiting methods take part: a loop of `readable()` with the
    // readiness retained, and of `read_with` peeking, on a socket with unread data (both
    // always ready) lets an interval tick.
    async fn async_fd_ready_loop_lets_an_interval_tick() {
        let (a, b) = sys::Socket::pair(sys::Type::Stream).unwrap();
        assert_eq!(b.send(b"never read").unwrap(), 10);
        let fd = AsyncFd::new(a).unwrap();
        assert_interval_ticks_beside("readable and read_with", |stop| async move {
            let mut operations = 0;
            let mut buf = [0u8; 4];
            while stop.running() {
                fd.readable().await.unwrap().retain_ready();
                fd.read_with(|s| s.peek(&mut buf)).await.unwrap();
                operations += 2;
            }
            drop(b);
            operations
        })
        .await;
    }

    // Proves that a CPU loop that awaits nothing but `consume_budget()` lets a timer task
    // run: the loop spins until the timer has fired (or gives up after `GREEDY_FOR`).
    async fn consume_budget_loop_lets_a_timer_fire() {
        let fired = Arc::new(AtomicBool::new(false));
        let timer = runtime::spawn({
            let fired = fired.clone();
            async move {
                sleep(PERIOD).await;
                fired.store(true, Ordering::SeqCst);
            }
        });
        let stop = Stop::new();
        let spinner = runtime::spawn({
            let fired = fired.clone();
            async move {
                while !fired.load(Ordering::SeqCst) && stop.running() {
                    consume_budget().await;
                }
            }
        });
        spinner.await.unwrap();
        assert!(
            fired.load(Ordering::SeqCst),
            "a 10 ms timer did not fire during {GREEDY_FOR:?} of consume_budget()"
        );
        timer.await.unwrap();
    }

    // Proves that `timeout` fires around a future that spends the whole budget on every
    // poll: the deadline is checked even though the budget is gone (a `Sleep` polled
    // after the future would otherwise be `Pending` for lack of budget, every time).
    async fn timeout_fires_around_a_future_that_spends_the_budget() {
        let stop = Stop::new();
        let spin = async move {
            while stop.running() {
                sleep(Duration::ZERO).await;
            }
        };
        let result = timeout(Duration::from_millis(20), spin).await;
        assert!(result.is_err(), "the 20 ms timeout did not fire within {GREEDY_FOR:?}");
    }
}
