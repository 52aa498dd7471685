//! Hostile wakeups (issue 10, section 2): 200,000 ping-pongs between a runtime task and a
//! foreign thread; 1,000,000 wakes from two threads while the runtime is parked, after
//! which it goes back to sleep (with `--cfg sys_test_seams`: at most 10 poller waits in
//! the next idle 500 ms); descriptor-number reuse (ABA) 10,000 times without the old
//! waiter ever being woken by the new descriptor; and waiters whose descriptor is closed
//! or whose runtime goes away get woken (with EOF or an error) instead of hanging.
//!
//! What "closed under a waiter" can mean through the safe API: an `AsyncFd` (and every
//! `net` type) owns its descriptor and its waiting futures borrow it, so no one can close
//! the descriptor while a `readable()` future is alive. What is left, and tested here:
//! the peer closing or resetting the connection, a task shutting down the read side of a
//! stream another task is waiting on (both wake the waiter, which then reads EOF or the
//! error), and the runtime shutting down under a waiter polled elsewhere (an error). Closing
//! a raw descriptor behind an `AsyncFd`'s back breaks its contract and is not tested.
//!
//! Sizes come from [`tests::rt::soak`] (full in release, a tenth in debug; every assertion
//! at every scale). Each test runs on both flavors under the hang guard (`rt_test!`) and
//! bounds its waits with `within`. The tests that count process-wide things (descriptor
//! numbers, the instrumented poller's waits) run alone: see [`turn`].

use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use runtime::io::AsyncFd;
use runtime::task::JoinHandle;
use runtime::time::sleep;
use tests::net::within;
use tests::rt::{WakerSlot, mailbox, oneshot, soak, thread_waker};
use tests::rt_test;

/// Bound for anything that must happen promptly; only a hang gets near it.
const LIMIT: Duration = Duration::from_secs(20);

/// Tests that count process-wide things take this exclusively; the others share it.
static QUIET: RwLock<()> = RwLock::new(());

enum Turn {
    Shared(#[allow(dead_code, reason = "held for its drop")] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code, reason = "held for its drop")] RwLockWriteGuard<'static, ()>),
}

/// This test's turn: `alone` for one that counts descriptors or poller waits.
fn turn(alone: bool) -> Turn {
    if alone {
        Turn::Alone(
            QUIET
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    } else {
        Turn::Shared(
            QUIET
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// A waker that counts its wakes and does nothing else.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---- ping-pong with a foreign thread ----------------------------------------------------

rt_test! {
    // Proves: 200,000 (soak-scaled) round trips between a runtime task and a std thread,
    // each a wake of the task from outside the runtime (which is parked in between) and a
    // std channel send back, all arrive, in order, none lost (a lost wakeup hangs, and
    // `within` fails it).
    fn ping_pong_with_a_foreign_thread_loses_no_wakeup(flavor) {
        let _turn = turn(false);
        flavor.block_on(async {
            let rounds = soak(200_000) as u64;
            let (to_thread, from_task) = std::sync::mpsc::channel::<u64>();
            let (to_task, mut from_thread) = mailbox::<u64>();
            let echo = thread::Builder::new()
                .name("ping-pong-echo".into())
                .spawn(move || {
                    for n in from_task {
                        to_task.send(n + 1);
                    }
                })
                .expect("spawning the echo thread");
            let pinger = runtime::spawn(async move {
                for i in 0..rounds {
                    to_thread.send(2 * i).expect("the echo thread is alive");
                    let back = within(LIMIT, "a pong", from_thread.recv()).await;
                    assert_eq!(back, Some(2 * i + 1), "round {i}");
                }
                // Dropping `to_thread` ends the echo thread; then the mailbox closes.
                drop(to_thread);
                let hang_up = within(LIMIT, "the echo's hang-up", from_thread.recv()).await;
                assert_eq!(hang_up, None);
            });
            within(LIMIT * 2, "the ping-pong", pinger).await.unwrap();
            echo.join().expect("the echo thread");
        });
    }
}

// ---- a wake storm while parked ----------------------------------------------------------

/// Wakes a parked task `wakes` times from two std threads while the runtime sits parked,
/// then once more after setting `done`; the task must see `done`. Returns how many times
/// the task was polled.
fn wake_storm(rt: &runtime::Runtime, wakes: usize) -> usize {
    let polls = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let slot = WakerSlot::new();
    let task = rt.spawn({
        let (polls, done, slot) = (polls.clone(), done.clone(), slot.clone());
        poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::SeqCst);
            slot.store(cx.waker());
            if done.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    });
    let (finished, storm_over) = oneshot();
    let storm = thread::spawn(move || {
        let give_up = std::time::Instant::now() + LIMIT;
        let waker = loop {
            if let Some(waker) = slot.take() {
                break waker;
            }
            assert!(
                std::time::Instant::now() < give_up,
                "the task was never polled"
            );
            thread::sleep(Duration::from_millis(1));
        };
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let waker = waker.clone();
                thread::spawn(move || {
                    for _ in 0..wakes / 2 {
                        waker.wake_by_ref();
                    }
                })
            })
            .collect();
        for waker in wakers {
            waker.join().expect("a waking thread");
        }
        done.store(true, Ordering::SeqCst);
        waker.wake();
        finished.send(());
    });
    rt.block_on(async {
        within(LIMIT, "the wake storm", storm_over).await;
        within(LIMIT, "the task after the storm", task)
            .await
            .unwrap();
    });
    storm.join().expect("the storm thread");
    polls.load(Ordering::SeqCst)
}

rt_test! {
    // Proves: 1,000,000 (soak-scaled) wakes of one parked task from two std threads at
    // once, while the runtime is parked in `block_on`, are coalesced (the task is polled
    // at most once per wake, and far fewer times in practice) and none that matters is
    // lost: the wake after `done` is set gets the task polled to completion.
    fn wake_storm_from_two_threads_is_coalesced_and_lost_nowhere(flavor) {
        let _turn = turn(false);
        let wakes = soak(1_000_000);
        let rt = flavor.build();
        let polls = wake_storm(&rt, wakes);
        assert!(polls >= 2, "polled {polls} times: the final wake was lost");
        assert!(polls <= wakes + 2, "polled {polls} times for {wakes} wakes");
        eprintln!("{flavor:?}: {wakes} wakes, {polls} polls");
    }
}

/// The instrumented poller's view (`--cfg sys_test_seams`): the storm leaves no wakeup
/// behind, so the idle runtime waits in the poller only a few times.
#[cfg(sys_test_seams)]
mod after_the_storm {
    use super::*;
    use sys::poller::instrumented;

    rt_test! {
        // Proves: after 1,000,000 (soak-scaled) wakes from two threads while parked, the
        // runtime goes back to sleep: over the next idle 500 ms its driver wakes up (waits
        // in the poller) at most 10 times; a wakeup primitive left signalled, or a wake
        // loop, would spin through thousands. Runs alone: the count is process-wide.
        fn idle_after_a_wake_storm_waits_at_most_ten_times(flavor) {
            let _turn = turn(true);
            let rt = flavor.build();
            wake_storm(&rt, soak(1_000_000));
            let before = instrumented::counts().waits;
            rt.block_on(async { sleep(Duration::from_millis(500)).await });
            let waits = instrumented::counts().waits - before;
            assert!(waits <= 10, "{flavor:?}: {waits} poller waits in an idle 500 ms");
            eprintln!("{flavor:?}: {waits} poller waits in the idle 500 ms");
        }
    }
}

// ---- descriptor-number reuse --------------------------------------------------------

/// A non-blocking Unix socket pair (std's: the runtime only sees what `AsyncFd` gets).
fn nonblocking_pair() -> (StdUnixStream, StdUnixStream) {
    let (a, b) = StdUnixStream::pair().expect("a socket pair");
    a.set_nonblocking(true).expect("O_NONBLOCK");
    (a, b)
}

/// How one ABA round lets go of the old descriptor.
#[derive(Clone, Copy, Debug)]
enum LetGo {
    /// Drop the `AsyncFd`: deregistered, then closed.
    Drop,
    /// `into_inner`, then close: deregistered well before the close.
    IntoInnerThenClose,
    /// `into_inner`, then register the very same socket again: same number, same open
    /// file, a new registration.
    Reregister,
}

/// One round: a waiter on descriptor N, N deregistered and closed, a new socket pair whose
/// first end gets number N made readable (or N registered anew and made readable). Returns
/// whether the number was reused, and the old waiter's wakes.
async fn aba_round(let_go: LetGo) -> (bool, usize) {
    // A fresh budget: a spent one makes `poll_read_ready` wake the waker as a yield.
    runtime::task::yield_now().await;
    let (old_read, old_peer) = nonblocking_pair();
    let number = old_read.as_raw_fd();
    let old = AsyncFd::new(old_read).expect("registering the old read end");
    let old_waiter = Arc::new(CountingWaker::default());
    let waker = Waker::from(old_waiter.clone());
    let polled = old.poll_read_ready(&mut Context::from_waker(&waker));
    assert!(polled.is_pending(), "an empty socket is not readable");
    let (new_read, mut new_peer) = match let_go {
        LetGo::Drop => {
            drop(old);
            nonblocking_pair()
        }
        LetGo::IntoInnerThenClose => {
            drop::<StdUnixStream>(old.into_inner());
            nonblocking_pair()
        }
        LetGo::Reregister => (
            old.into_inner(),
            old_peer.try_clone().expect("dup the peer"),
        ),
    };
    let reused = new_read.as_raw_fd() == number;
    let new = AsyncFd::new(new_read).expect("registering the new read end");
    let new_waiter = Arc::new(CountingWaker::default());
    let new_waker = Waker::from(new_waiter.clone());
    let polled = new.poll_read_ready(&mut Context::from_waker(&new_waker));
    assert!(polled.is_pending(), "the new socket is empty too");
    new_peer.write_all(b"x").expect("writing to the new socket");
    let guard = within(LIMIT, "the new descriptor's readiness", new.readable())
        .await
        .expect("the new descriptor is readable");
    let mut byte = [0];
    assert_eq!(guard.get_inner().read(&mut byte).unwrap(), 1);
    // The driver may still be waking the new waiter on another worker: wait for it, so
    // that the old waiter is checked after the new descriptor's event was dispatched.
    within(LIMIT, "the new waiter's wake", async {
        while new_waiter.0.load(Ordering::SeqCst) == 0 {
            runtime::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(
        new_waiter.0.load(Ordering::SeqCst),
        1,
        "the new waiter is woken once"
    );
    (reused, old_waiter.0.load(Ordering::SeqCst))
}

rt_test! {
    // Proves: 10,000 (soak-scaled) times, a waiter on descriptor N (registered, pending on
    // readable) whose `AsyncFd` is dropped (or taken apart with `into_inner` and closed),
    // then a new socket that gets the same number N (or, every third round, the very same
    // socket taken out with `into_inner` and registered again), made readable: the new
    // waiter is woken once and the old one is never woken, though the poller and the
    // reactor's slab both see the same N and (often) the same slot again. Runs alone, so
    // that no other test takes the freed number in between: every round reuses it.
    fn reused_descriptor_number_never_wakes_the_old_waiter(flavor) {
        let _turn = turn(true);
        flavor.block_on(async {
            let rounds = soak(10_000);
            let mut reused = 0;
            for round in 0..rounds {
                let let_go = [LetGo::Drop, LetGo::IntoInnerThenClose, LetGo::Reregister][round % 3];
                let (same_number, old_wakes) = aba_round(let_go).await;
                assert_eq!(old_wakes, 0, "round {round} ({let_go:?}): the old waiter was woken");
                reused += usize::from(same_number);
            }
            assert_eq!(reused, rounds, "the new descriptor got the old number in every round");
        });
    }
}

// ---- waiters whose descriptor goes away --------------------------------------------------

/// A connected TCP pair on loopback.
async fn tcp_pair() -> (net::TcpStream, net::TcpStream) {
    let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connect = net::TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = futures_util::join!(connect, listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

/// The net streams' `readable()` and `try_read`, for [`reader_waiting`].
trait Readable: Send + Sync + 'static {
    fn wait(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>>;
    fn read_now(&self, buf: &mut [u8]) -> io::Result<usize>;
}

impl Readable for net::TcpStream {
    fn wait(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
        Box::pin(self.readable())
    }

    fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_read(buf)
    }
}

impl Readable for net::UnixStream {
    fn wait(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
        Box::pin(self.readable())
    }

    fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_read(buf)
    }
}

/// Spawns a task that waits in `stream.readable()` and then reads once; returns its
/// handle once the wait has gone pending (so it is registered).
async fn reader_waiting<S: Readable>(stream: Arc<S>) -> JoinHandle<io::Result<usize>> {
    let registered = Arc::new(AtomicBool::new(false));
    let task = runtime::spawn({
        let registered = registered.clone();
        async move {
            let mut wait = stream.wait();
            poll_fn(|cx| {
                let polled = wait.as_mut().poll(cx);
                registered.store(true, Ordering::SeqCst);
                polled
            })
            .await?;
            drop(wait);
            stream.read_now(&mut [0; 16])
        }
    });
    // Polled by a worker that may be slow to get a core (the wake storm's threads are
    // busy beside this test): wait by the clock, not by a number of yields.
    within(LIMIT, "the reader's first poll", async {
        while !registered.load(Ordering::SeqCst) {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    sleep(Duration::from_millis(5)).await;
    assert!(!task.is_finished(), "the reader waits: nothing was sent");
    task
}

rt_test! {
    // Proves: a task waiting in `readable()` on a TCP stream is woken when the peer closes
    // the connection, and then reads EOF (0); when the peer resets it (SO_LINGER 0), the
    // waiter is woken and reads the error (ECONNRESET), never hangs.
    fn tcp_readable_waiter_wakes_on_peer_close_and_reset(flavor) {
        let _turn = turn(false);
        flavor.block_on(async {
            let (ours, peer) = tcp_pair().await;
            let reader = reader_waiting(Arc::new(ours)).await;
            drop(peer);
            let read = within(LIMIT, "the waiter after the peer's close", reader).await.unwrap();
            assert_eq!(read.unwrap(), 0, "EOF after the peer's close");

            let (ours, peer) = tcp_pair().await;
            let reader = reader_waiting(Arc::new(ours)).await;
            peer.set_linger(Some(Duration::ZERO)).unwrap();
            drop(peer);
            let read = within(LIMIT, "the waiter after the peer's reset", reader).await.unwrap();
            let err = read.expect_err("a reset connection reads an error");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        });
    }

    // Proves: a task waiting in `readable()` on a stream (TCP and Unix) is woken when
    // another task shuts down the stream's read side (the closest the safe API comes to
    // closing the descriptor under a waiter), and reads EOF instead of hanging.
    fn readable_waiter_wakes_when_its_read_side_is_shut_down(flavor) {
        let _turn = turn(false);
        flavor.block_on(async {
            let (ours, _peer) = tcp_pair().await;
            let ours = Arc::new(ours);
            let reader = reader_waiting(ours.clone()).await;
            ours.shutdown(Shutdown::Read).unwrap();
            let read = within(LIMIT, "the TCP waiter after shutdown(Read)", reader).await.unwrap();
            assert_eq!(read.unwrap(), 0);

            let (ours, _peer) = net::UnixStream::pair().unwrap();
            let ours = Arc::new(ours);
            let reader = reader_waiting(ours.clone()).await;
            ours.shutdown(Shutdown::Read).unwrap();
            let read = within(LIMIT, "the Unix waiter after shutdown(Read)", reader).await.unwrap();
            assert_eq!(read.unwrap(), 0);
        });
    }

    // Proves: a `UnixStream::readable()` (and an `AsyncFd::readable()`) waiter polled on a
    // std thread, off the runtime that registered the stream, gets an error when that
    // runtime shuts down (dropped), instead of hanging: the reactor fails every waiter.
    fn readable_waiter_gets_an_error_when_its_runtime_shuts_down(flavor) {
        let _turn = turn(false);
        let rt = flavor.build();
        let (stream, _peer) = rt.block_on(async { net::UnixStream::pair() }).unwrap();
        let (raw, _raw_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        raw.set_nonblocking(true).unwrap();
        let fd = {
            let _enter = rt.enter();
            AsyncFd::new(raw).unwrap()
        };
        let (waiting, parked) = std::sync::mpsc::channel();
        let waiter = thread::spawn(move || {
            let both = futures_util::future::join(stream.readable(), async {
                fd.readable().await.map(drop)
            });
            block_on_thread(both, || {
                let _ = waiting.send(());
            })
        });
        parked.recv_timeout(LIMIT).expect("the waiter polled its readable()");
        thread::sleep(Duration::from_millis(10));
        drop(rt);
        let (stream_result, fd_result) = waiter.join().expect("the waiter thread");
        assert!(stream_result.is_err(), "UnixStream::readable after shutdown: {stream_result:?}");
        assert!(fd_result.is_err(), "AsyncFd::readable after shutdown: {fd_result:?}");
    }
}

/// Polls `future` to completion on this (non-runtime) thread, parking in between, calling
/// `pending` after the first `Pending`; fails after [`LIMIT`].
fn block_on_thread<F: std::future::Future>(future: F, pending: impl FnOnce()) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    let mut pending = Some(pending);
    let give_up = std::time::Instant::now() + LIMIT;
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        if let Some(pending) = pending.take() {
            pending();
        }
        assert!(
            std::time::Instant::now() < give_up,
            "still pending after {LIMIT:?}"
        );
        thread::park_timeout(Duration::from_millis(100));
    }
}
