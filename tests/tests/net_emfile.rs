//! Running out of descriptors (EMFILE) in an accept loop neither spins nor wedges the
//! listener: the error reaches the caller, the next accept backs off, and once descriptors
//! free up every pending connection is accepted.
//!
//! The server is a child process of this test binary with `RLIMIT_NOFILE` at 64, so the
//! limit touches nothing else. The parent only connects and reads the child's report.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_core::Stream;
use net::TcpListener;
use runtime::time::timeout_at;
use tests::net::{SelfChild, child_mode, report_fields};
use tests::process::set_fd_soft_limit;
use tests::rt::{Flavor, process_cpu_time};
use tests::rt_test;

const MODE: &str = "NET_TESTS_EMFILE_CHILD";
const CHILD: &str = "child_body_emfile_server";
/// Connections the parent opens and keeps open: far more than 64 descriptors.
const CONNS: usize = 200;
/// The child's descriptor limit.
const NOFILE: u64 = 64;
/// From this long after the child starts listening, it stops holding connections.
const RELEASE_AFTER: Duration = Duration::from_millis(1500);
/// The child gives up after this long, whatever happened.
const STOP_AFTER: Duration = Duration::from_secs(6);
/// The child's watchdog kills it after this long, even if its event loop is wedged.
const WATCHDOG: Duration = Duration::from_secs(15);
/// Parent-side limit for the child's whole run.
const CHILD_LIMIT: Duration = Duration::from_secs(30);
/// EMFILE errors the loop may see in all. Backing off (10 ms doubling to 640 ms) gives about
/// ten before RELEASE_AFTER and one more per 640 ms after it; a loop that retries at once
/// sees hundreds of thousands.
const MAX_EXHAUSTED: usize = 100;
/// CPU the child may use in all. Spinning on EMFILE from the first error until the release
/// burns about RELEASE_AFTER of CPU; with back-off, the whole run costs a few dozen ms.
const CPU_BUDGET: Duration = Duration::from_millis(500);

rt_test! {
    // Proves: the naive loop `loop { match listener.accept().await { Ok(s) => keep s,
    // Err(_) => continue } }` at the descriptor limit neither spins nor stops: it sees
    // EMFILE, uses little CPU while the limit lasts (back-off), and once it drops the
    // connections it held, it accepts every remaining connection; all CONNS clients see
    // their connection accepted and closed (EOF, not a reset from an unaccepted
    // connection).
    // Races: the child drops its held connections at RELEASE_AFTER (a wall-clock point, so
    // the spin, if any, has time to show in the CPU time); the parent's connections all
    // sit in the listen backlog before then. Nothing asserts how fast anything happens.
    fn accept_loop_backs_off_at_emfile_and_recovers(flavor) {
        run_and_check("accept", flavor);
    }

    // Proves: the same for `TcpListener::incoming()` driven as a `Stream`.
    fn incoming_backs_off_at_emfile_and_recovers(flavor) {
        run_and_check("incoming", flavor);
    }

    // Proves: the same for a loop over `TcpListener::poll_accept` (through `poll_fn`): its
    // back-off must wake the task again, or the loop stops accepting after the first
    // EMFILE.
    fn poll_accept_backs_off_at_emfile_and_recovers(flavor) {
        run_and_check("poll_accept", flavor);
    }
}

/// What the child reports.
#[derive(Debug, Default)]
struct Report {
    accepted: usize,
    exhausted: usize,
    other_errors: usize,
    cpu: Duration,
}

/// Runs the child's accept loop in `mode` on a runtime of `flavor`, connects, and checks
/// its report.
fn run_and_check(mode: &str, flavor: Flavor) {
    let mut child = SelfChild::spawn(CHILD, MODE, &format!("{mode} {}", flavor.name()));
    let port: u16 = child
        .line_starting("PORT ", Duration::from_secs(20))
        .expect("the child never reported its port")
        .trim()
        .parse()
        .expect("a port number");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let clients: Vec<TcpStream> = (0..CONNS)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"))
        })
        .collect();
    let out = child.finish(CHILD_LIMIT);
    let report = out
        .stdout
        .iter()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| parse_report(r)))
        .unwrap_or_else(|| {
            panic!(
                "no report from the child ({}, killed: {})\nstdout: {:?}\nstderr: {}",
                out.status, out.killed, out.stdout, out.stderr
            )
        });
    assert!(out.status.success(), "child {}: {}", out.status, out.stderr);
    assert!(
        report.exhausted > 0,
        "the child never hit EMFILE, so this proves nothing: {report:?}"
    );
    assert_eq!(report.other_errors, 0, "{report:?}");
    assert_eq!(
        report.accepted, CONNS,
        "every connection accepted once fds freed: {report:?}"
    );
    assert!(
        report.exhausted <= MAX_EXHAUSTED,
        "{} accept attempts failed with EMFILE: the loop retries without backing off; {report:?}",
        report.exhausted
    );
    assert!(
        report.cpu < CPU_BUDGET,
        "the accept loop used {:?} of CPU (budget {CPU_BUDGET:?}): it spins at EMFILE; {report:?}",
        report.cpu
    );
    for (i, mut c) in clients.into_iter().enumerate() {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0; 1];
        match c.read(&mut buf) {
            Ok(0) => {}
            other => panic!("connection {i} was not accepted and closed: {other:?}"),
        }
    }
}

fn parse_report(s: &str) -> Report {
    let mut r = Report::default();
    for (key, value) in report_fields(s) {
        match key {
            "accepted" => r.accepted = value as usize,
            "exhausted" => r.exhausted = value as usize,
            "other" => r.other_errors = value as usize,
            "cpu_us" => r.cpu = Duration::from_micros(value),
            _ => panic!("unknown report field {key}"),
        }
    }
    r
}

/// The child process body, run only by the tests above (`--ignored --exact` with MODE set).
#[test]
#[ignore = "child-process body: run by the emfile tests in this file"]
fn child_body_emfile_server() {
    let Some(mode_and_flavor) = child_mode(MODE) else {
        return;
    };
    let (mode, flavor) = mode_and_flavor
        .split_once(' ')
        .expect("the child's mode is `<mode> <flavor>`");
    let flavor = Flavor::from_name(flavor);
    std::thread::spawn(|| {
        std::thread::sleep(WATCHDOG);
        eprintln!("watchdog: the EMFILE server is still running after {WATCHDOG:?}");
        std::process::exit(3);
    });
    set_fd_soft_limit(NOFILE);
    let rt = flavor.build();
    let report = rt.block_on(serve(mode));
    drop(rt);
    println!(
        "\nRESULT accepted={} exhausted={} other={} cpu_us={}",
        report.accepted,
        report.exhausted,
        report.other_errors,
        process_cpu_time().as_micros()
    );
}

/// The naive accept loop: hold every connection (so descriptors run out) until
/// RELEASE_AFTER, then drop them and close each new one at once; stop when all CONNS were
/// accepted or at STOP_AFTER.
async fn serve(mode: &str) -> Report {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("\nPORT {}", listener.local_addr().unwrap().port());
    let start = Instant::now();
    let stop = start + STOP_AFTER;
    let mut incoming = listener.incoming();
    let mut held = Vec::new();
    let mut released = false;
    let mut report = Report::default();
    while report.accepted < CONNS && Instant::now() < stop {
        if !released && start.elapsed() >= RELEASE_AFTER {
            held.clear();
            released = true;
        }
        let next = async {
            match mode {
                "accept" => listener.accept().await.map(|(s, _)| s),
                "incoming" => {
                    let next =
                        futures_util::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx));
                    next.await.expect("incoming never ends")
                }
                "poll_accept" => futures_util::future::poll_fn(|cx| listener.poll_accept(cx))
                    .await
                    .map(|(s, _)| s),
                _ => panic!("unknown mode {mode}"),
            }
        };
        let Ok(result) = timeout_at(stop, next).await else {
            break;
        };
        match result {
            Ok(stream) => {
                report.accepted += 1;
                if !released {
                    held.push(stream);
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => report.exhausted += 1,
            Err(e) => {
                eprintln!("accept: {e}");
                report.other_errors += 1;
            }
        }
    }
    report
}
