//! Signals: a raised signal completes `recv`, every listener of it wakes (also across
//! runtimes), a burst wakes at least once and a later signal again, `ctrl_c` sees SIGINT,
//! bad signal numbers are `InvalidInput`, and the self-pipe and its dups are close-on-exec.
//!
//! Listening installs a process-wide handler that is never removed, so every case that
//! listens (or raises) runs in a child process of this test binary; the suite's own
//! signal dispositions stay untouched. The parent checks the child printed its marker.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use runtime::signal::ctrl_c;
use runtime::signal::unix::{Signal, SignalKind, signal};
use tests::net::{SelfChild, child_fd_table, child_mode, cloexec_nonblock, within};
use tests::rt::{Flavor, poll_once};
use tests::rt_test;

const MODE: &str = "SIGNAL_TESTS_CHILD";
const CHILD: &str = "child_body";
const MARKER: &str = "SIGNAL-CHILD-PASSED";
const LIMIT: Duration = Duration::from_secs(30);

/// Runs `case` on `flavor` in a child process and asserts it passed.
fn in_child(case: &str, flavor: Flavor) {
    let out = SelfChild::spawn(CHILD, MODE, &format!("{case} {}", flavor.name())).finish(2 * LIMIT);
    assert!(
        out.status.success() && out.stdout.iter().any(|l| l.contains(MARKER)),
        "the {case} child {} (killed for overrunning: {})\nstdout: {:?}\nstderr: {}",
        out.status,
        out.killed,
        out.stdout,
        out.stderr
    );
}

/// Sends `signum` to this process from this thread (delivered before `raise` returns).
fn raise(signum: libc::c_int) {
    // SAFETY: raise takes no pointers; the child installed a handler for `signum` first.
    let rc = unsafe { libc::raise(signum) };
    assert_eq!(rc, 0, "raise({signum}): {}", io::Error::last_os_error());
}

async fn recv_within(signal: &mut Signal, what: &str) {
    let got = within(LIMIT, what, signal.recv()).await;
    assert_eq!(got, Some(()), "{what}: the stream ended");
}

rt_test! {
    // Proves: SIGUSR1 raised after `signal(user_defined1())` completes `recv`.
    fn raised_signal_completes_recv(flavor) {
        in_child("usr1", flavor);
    }

    // Proves: two listeners of SIGTERM, waiting in two tasks, both wake for one SIGTERM
    // (whichever drains the pipe wakes the other).
    fn every_listener_wakes(flavor) {
        in_child("two_listeners", flavor);
    }

    // Proves: 100 SIGUSR2 raised back to back wake the listener at least once, and a
    // SIGUSR2 raised after that wakes it again.
    fn burst_coalesces_but_is_never_lost(flavor) {
        in_child("burst", flavor);
    }

    // Proves: `ctrl_c()` completes on SIGINT.
    fn ctrl_c_sees_sigint(flavor) {
        in_child("ctrl_c", flavor);
    }

    // Proves: listeners in two runtimes (on two threads) each see every SIGUSR1, though
    // only one of them drains the pipe each time. Steps, 20 rounds: each thread reports
    // (listening, or saw the last signal); once both have, the main thread raises.
    fn listeners_in_two_runtimes_each_wake(flavor) {
        in_child("two_runtimes", flavor);
    }

    // Proves: `recv` returns `None` once the listener's runtime has shut down.
    fn recv_after_shutdown_is_none(flavor) {
        in_child("shutdown", flavor);
    }

    // Proves: the self-pipe (both ends) and every listener's dup of it are close-on-exec
    // and absent from a child process's descriptor table.
    fn signal_pipes_are_cloexec(flavor) {
        in_child("cloexec", flavor);
    }

    // Proves: SIGKILL, SIGSTOP, 0, negative and out-of-range numbers are `InvalidInput`
    // (nothing is installed, so this runs in the test process).
    async fn bad_signal_numbers_are_invalid_input() {
        for signum in [libc::SIGKILL, libc::SIGSTOP, 0, -1, 129, 1000, libc::c_int::MAX] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}: {err}");
        }
    }
}

// Proves: `signal` outside a runtime is an error and installs no handler (SIGUSR1 keeps
// its default action). (No runtime, so no flavors.)
#[test]
fn signal_outside_a_runtime_is_an_error_and_installs_nothing() {
    in_child("no_runtime", Flavor::CurrentThread);
}

/// The child process body, run only by the tests above (`--ignored --exact`, MODE set to
/// `<case> <flavor>`).
#[test]
#[ignore = "child-process body: run by the signal tests"]
fn child_body() {
    let Some(mode) = child_mode(MODE) else { return };
    let (case, flavor) = mode.split_once(' ').expect("the mode is `<case> <flavor>`");
    let flavor = Flavor::from_name(flavor);
    match case {
        "usr1" => flavor.block_on(usr1()),
        "two_listeners" => flavor.block_on(two_listeners()),
        "burst" => flavor.block_on(burst()),
        "ctrl_c" => flavor.block_on(ctrl_c_case()),
        "two_runtimes" => two_runtimes(flavor),
        "shutdown" => shutdown(flavor),
        "cloexec" => flavor.block_on(cloexec()),
        "no_runtime" => no_runtime(),
        _ => panic!("no signal case is named {case:?}"),
    }
    println!("\n{MARKER}");
}

async fn usr1() {
    let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
    raise(libc::SIGUSR1);
    recv_within(&mut usr1, "SIGUSR1").await;
}

async fn two_listeners() {
    let mut a = signal(SignalKind::terminate()).unwrap();
    let mut b = signal(SignalKind::terminate()).unwrap();
    let a = runtime::spawn(async move { recv_within(&mut a, "listener a").await });
    let b = runtime::spawn(async move { recv_within(&mut b, "listener b").await });
    raise(libc::SIGTERM);
    a.await.unwrap();
    b.await.unwrap();
}

async fn burst() {
    let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
    for _ in 0..100 {
        raise(libc::SIGUSR2);
    }
    recv_within(&mut usr2, "after the burst").await;
    raise(libc::SIGUSR2);
    recv_within(&mut usr2, "after the burst, a later signal").await;
}

async fn ctrl_c_case() {
    let mut ctrl_c = std::pin::pin!(ctrl_c());
    // The first poll registers the listener (and installs the handler) before the raise;
    // without it SIGINT would kill the child.
    assert!(futures_util::poll!(ctrl_c.as_mut()).is_pending());
    raise(libc::SIGINT);
    within(LIMIT, "ctrl_c", ctrl_c).await.unwrap();
}

fn two_runtimes(flavor: Flavor) {
    const ROUNDS: usize = 20;
    let (seen_tx, seen) = mpsc::channel();
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let seen_tx = seen_tx.clone();
            thread::spawn(move || {
                flavor.block_on(async move {
                    let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
                    seen_tx.send(()).unwrap();
                    for round in 0..ROUNDS {
                        recv_within(&mut usr1, &format!("runtime {i}, round {round}")).await;
                        seen_tx.send(()).unwrap();
                    }
                });
            })
        })
        .collect();
    // Round 0 waits for both to listen; each later round for both to see the last raise.
    for round in 0..=ROUNDS {
        for _ in 0..2 {
            seen.recv_timeout(LIMIT)
                .unwrap_or_else(|_| panic!("round {round}: a runtime did not report"));
        }
        if round < ROUNDS {
            raise(libc::SIGUSR1);
        }
    }
    for thread in threads {
        thread.join().expect("a runtime's listener failed");
    }
}

fn shutdown(flavor: Flavor) {
    let rt = flavor.build();
    let mut usr1 = rt.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
    drop(rt);
    let mut recv = std::pin::pin!(usr1.recv());
    assert_eq!(poll_once(&mut recv), Poll::Ready(None));
}

fn no_runtime() {
    let err = signal(SignalKind::user_defined1()).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
    // SAFETY: an all-zero sigaction is valid; a null new action only reads the old one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `old` is valid for one write.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0);
    assert_eq!(old.sa_sigaction, libc::SIG_DFL, "a handler was installed");
}

async fn cloexec() {
    // Pipes inherited from whoever started the test binary (a jobserver, say) are not ours.
    let before = pipe_fds();
    let _a = signal(SignalKind::user_defined1()).unwrap();
    let _b = signal(SignalKind::user_defined2()).unwrap();
    let pipes: Vec<_> = pipe_fds()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    // The pipe's two ends and the two listeners' dups.
    assert_eq!(pipes.len(), 4, "expected 4 new pipe descriptors: {pipes:?}");
    for &(fd, _) in &pipes {
        // SAFETY: `fd` is open for this call: the listeners holding it are alive.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        assert!(cloexec_nonblock(&fd).0, "pipe fd {fd:?} lacks FD_CLOEXEC");
    }
    let inherited = child_fd_table();
    for (fd, target) in &pipes {
        assert!(
            !inherited.contains(&(*fd, target.clone())),
            "a child inherited pipe fd {fd} ({target})"
        );
    }
}

/// This process's pipe descriptors, with their `/proc/self/fd` targets.
fn pipe_fds() -> Vec<(RawFd, String)> {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<RawFd>().ok())
        .filter_map(|fd| {
            let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
            let target = target.to_string_lossy().into_owned();
            target.starts_with("pipe:").then_some((fd, target))
        })
        .collect()
}
