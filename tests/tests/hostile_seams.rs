//! Hostile kernel, through the instrumented poller (`--cfg sys_test_seams`, the suite's
//! second CI pass; this file is empty in a normal build): poller creation that fails with
//! `EMFILE` or `ENOSYS`, registrations that fail with `ENOMEM`, waits interrupted by `EINTR`
//! over and over, 5% spurious readiness under an echo load, and the order of teardown (every
//! descriptor deregistered while still open).
//!
//! The seams' settings and counts are process-wide, so the tests of this file take turns
//! (`SEAMS_LOCK`) and compare counts before and after, never absolute ones. Each test has
//! the hang guard (`Flavor::run` / `with_hang_guard`) as its watchdog.
#![cfg(sys_test_seams)]

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sys::poller::instrumented::{self, PollerCounts};
use tests::net::{assert_same_bytes, payload, within};
use tests::rt::{Flavor, fd_count, with_hang_guard};

const LIMIT: Duration = Duration::from_secs(30);

static SEAMS_LOCK: Mutex<()> = Mutex::new(());

/// Takes this file's turn at the process-wide seams, with every injection off.
fn seams_turn() -> MutexGuard<'static, ()> {
    let turn = SEAMS_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    instrumented::fail_creations(0, 0);
    instrumented::fail_registrations(0, 0);
    instrumented::fail_waits(0, 0);
    instrumented::set_spurious_readiness(0);
    turn
}

fn delta(before: PollerCounts, after: PollerCounts) -> PollerCounts {
    PollerCounts {
        created: after.created - before.created,
        waits: after.waits - before.waits,
        registers: after.registers - before.registers,
        modifies: after.modifies - before.modifies,
        deregisters: after.deregisters - before.deregisters,
        deregistered_after_close: after.deregistered_after_close - before.deregistered_after_close,
        spurious: after.spurious - before.spurious,
    }
}

/// `connections` TCP echo round trips of `messages` x `size` bytes each, every byte checked.
async fn echo_load(connections: usize, messages: usize, size: usize) {
    let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = runtime::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.unwrap();
            runtime::spawn(async move {
                let (mut reader, mut writer) = stream.into_split();
                futures_util::io::copy(&mut reader, &mut writer).await
            });
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|c| {
            runtime::spawn(async move {
                let mut stream = net::TcpStream::connect(addr).await.unwrap();
                let mut back = vec![0; size];
                for m in 0..messages {
                    let sent = payload((c * messages + m) as u64, size);
                    stream.write_all(&sent).await.unwrap();
                    stream.read_exact(&mut back).await.unwrap();
                    assert_same_bytes(&back, &sent, "echoed message");
                }
            })
        })
        .collect();
    for client in clients {
        within(LIMIT, "an echo client", client).await.unwrap();
    }
    server.await.unwrap();
}

// Proves: a poller that cannot be created (`EMFILE`: out of descriptors; `ENOSYS`: no
// epoll at all) makes `Builder::build` return that error, on both flavors, with no
// descriptor or panic left behind; the next build succeeds.
#[test]
fn poller_creation_failure_is_an_error_from_build() {
    let _turn = seams_turn();
    with_hang_guard(|| {
        for flavor in Flavor::ALL {
            for errno in [libc::EMFILE, libc::ENOSYS] {
                let fds = fd_count();
                instrumented::fail_creations(errno, 1);
                let err = flavor
                    .builder()
                    .build()
                    .expect_err("the poller cannot be made");
                assert_eq!(err.raw_os_error(), Some(errno), "{flavor:?}: {err}");
                assert_eq!(fd_count(), fds, "{flavor:?}: a failed build leaks nothing");
                let rt = flavor.builder().build().expect("the next build works");
                assert_eq!(rt.block_on(async { 7 }), 7);
            }
        }
    });
}

// Proves: a registration the kernel refuses (`ENOMEM`, as epoll_ctl reports when out of
// memory, or `ENOSPC` past max_user_watches) surfaces as that error from the socket's
// constructor, and the socket's descriptor is closed, not leaked.
#[test]
fn registration_failure_is_an_error_from_the_constructor() {
    let _turn = seams_turn();
    for flavor in Flavor::ALL {
        flavor.run(|flavor| {
            flavor.block_on(async {
                for errno in [libc::ENOMEM, libc::ENOSPC] {
                    let fds = fd_count();
                    instrumented::fail_registrations(errno, 1);
                    let err = net::UdpSocket::bind("127.0.0.1:0").await.unwrap_err();
                    assert_eq!(err.raw_os_error(), Some(errno), "{err}");
                    assert_eq!(fd_count(), fds, "the refused socket is closed");
                    instrumented::fail_registrations(errno, 1);
                    let err = net::TcpListener::bind("127.0.0.1:0").await.unwrap_err();
                    assert_eq!(err.raw_os_error(), Some(errno), "{err}");
                    assert_eq!(fd_count(), fds, "the refused listener is closed");
                }
                // And then everything works again.
                echo_load(2, 10, 64).await;
            });
        });
    }
}

// Proves: waits interrupted by `EINTR` (injected inside the poller's retry loop, 2,000
// times) are retried invisibly: timers fire, an echo load completes, nothing errors.
#[test]
fn eintr_on_every_wait_is_retried() {
    let _turn = seams_turn();
    for flavor in Flavor::ALL {
        flavor.run(|flavor| {
            flavor.block_on(async {
                instrumented::fail_waits(libc::EINTR, 2_000);
                runtime::time::sleep(Duration::from_millis(20)).await;
                echo_load(4, 50, 128).await;
                runtime::time::sleep(Duration::from_millis(5)).await;
            });
        });
    }
}

// Proves: 5% spurious readiness (an event for a registered descriptor with nothing to
// read or room it already had) during an echo run costs no error and no byte: reads and
// writes that find `WouldBlock` just wait again. Afterwards, idle, the runtime sleeps:
// over 300 ms it waits in the poller only a handful of times.
#[test]
fn spurious_readiness_during_echo_is_harmless() {
    let _turn = seams_turn();
    for flavor in Flavor::ALL {
        flavor.run(|flavor| {
            flavor.block_on(async {
                let before = instrumented::counts();
                instrumented::set_spurious_readiness(50_000);
                echo_load(8, 200, 256).await;
                let during = delta(before, instrumented::counts());
                assert!(during.spurious > 0, "{during:?}: none injected");
                instrumented::set_spurious_readiness(0);
                let idle_from = instrumented::counts();
                runtime::time::sleep(Duration::from_millis(300)).await;
                let idle = delta(idle_from, instrumented::counts());
                // One timer wait, plus a few for the workers settling and wakeups.
                assert!(
                    idle.waits <= 20,
                    "{flavor:?}: {} waits while idle",
                    idle.waits
                );
            });
        });
    }
}

// Proves: every socket kind and `AsyncFd` is deregistered from the poller while its
// descriptor is still open (closing first would let a new descriptor with the same number
// inherit the registration), in 200 create/use/drop cycles per kind.
#[test]
fn every_drop_deregisters_before_close() {
    let _turn = seams_turn();
    for flavor in Flavor::ALL {
        flavor.run(|flavor| {
            let before = instrumented::counts();
            flavor.block_on(async {
                let dir = tests::net::TempDir::new("hostile_seams");
                for i in 0..200 {
                    let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let client = net::TcpStream::connect(listener.local_addr().unwrap());
                    let (client, accepted) = futures_util::join!(client, listener.accept());
                    drop((client.unwrap(), accepted.unwrap(), listener));
                    drop(net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
                    drop(net::UnixStream::pair().unwrap());
                    drop(net::UnixDatagram::pair().unwrap());
                    let path = dir.path().join(format!("l{i}"));
                    drop(net::UnixListener::bind(&path).unwrap());
                    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
                    a.set_nonblocking(true).unwrap();
                    drop(runtime::io::AsyncFd::new(a).unwrap());
                }
            });
            let cycles = delta(before, instrumented::counts());
            assert_eq!(cycles.deregistered_after_close, 0, "{cycles:?}");
            // 3 TCP + 1 UDP + 4 Unix stream/datagram + 1 listener + 1 AsyncFd per cycle.
            assert!(cycles.deregisters >= 200 * 10, "{cycles:?}");
        });
    }
}

// Proves: the counts see what the runtime does: each runtime creates one poller, and a
// descriptor's registration is one `register` call (edge-triggered, both directions, never
// modified afterwards).
#[test]
fn registration_is_once_per_descriptor() {
    let _turn = seams_turn();
    for flavor in Flavor::ALL {
        let before = instrumented::counts();
        let rt = flavor.build();
        rt.block_on(async {
            let sockets: Vec<_> = futures_util::future::join_all(
                (0..10).map(|_| net::UdpSocket::bind("127.0.0.1:0")),
            )
            .await;
            let mut buf = [0; 8];
            for s in &sockets {
                let s = s.as_ref().unwrap();
                s.send_to(b"x", s.local_addr().unwrap()).await.unwrap();
                s.recv_from(&mut buf).await.unwrap();
            }
        });
        drop(rt);
        let d = delta(before, instrumented::counts());
        assert_eq!(d.created, 1, "{flavor:?}: {d:?}");
        assert_eq!(d.modifies, 0, "{flavor:?}: {d:?}");
        // The runtime's waker and the 10 sockets (the signal pipe only if signals are used).
        assert_eq!(d.registers, 11, "{flavor:?}: {d:?}");
    }
}
