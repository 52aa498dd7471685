//! No write raises SIGPIPE. The test harness (like every Rust program) ignores SIGPIPE, which
//! would hide the signal, so the writes run in a child process of this test binary that
//! restores the default action (terminate) first. The parent checks the child exited 0.

use std::io::{self, IoSlice, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use futures_util::io::AsyncWriteExt;
use net::{TcpListener, TcpStream, UnixStream};
use tests::net::{SelfChild, child_mode};
use tests::rt::Flavor;
use tests::rt_test;

const MODE: &str = "NET_TESTS_SIGPIPE_CHILD";
const CHILD: &str = "child_body_writes_to_closed_peers";
const MARKER: &str = "SIGPIPE-CHILD-SURVIVED";
const LIMIT: Duration = Duration::from_secs(60);

rt_test! {
    // Proves: writes through net's TcpStream and UnixStream (write, write_vectored,
    // try_write) to a closed peer fail with BrokenPipe or ConnectionReset and never kill
    // the process, even with SIGPIPE at its default action.
    fn writes_to_closed_peers_never_raise_sigpipe(flavor) {
        let out = SelfChild::spawn(CHILD, MODE, &format!("net {}", flavor.name())).finish(LIMIT);
        assert!(
            out.status.success() && out.stdout.iter().any(|l| l.contains(MARKER)),
            "the child {} (signal {:?}, killed for overrunning: {})\nstdout: {:?}\nstderr: {}",
            out.status,
            out.status.signal(),
            out.killed,
            out.stdout,
            out.stderr
        );
    }
}

// Proves the test above can fail: in the same child set-up, a plain `write(2)` (through a
// `File` on a Unix socket) to a closed peer does kill the child with SIGPIPE. (No
// runtime, so no flavors.)
#[test]
fn control_a_plain_write_in_the_child_dies_of_sigpipe() {
    let out = SelfChild::spawn(CHILD, MODE, "control").finish(LIMIT);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "the control child should die of SIGPIPE; it ended with {}\nstdout: {:?}\nstderr: {}",
        out.status,
        out.stdout,
        out.stderr
    );
}

/// The child process body, run only by the tests above (`--ignored --exact` with MODE set).
#[test]
#[ignore = "child-process body: run by writes_to_closed_peers_never_raise_sigpipe"]
fn child_body_writes_to_closed_peers() {
    let Some(mode) = child_mode(MODE) else { return };
    // SAFETY: installs the default disposition (no handler code runs); no other thread of
    // this child touches signal dispositions.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    if mode == "control" {
        // std's sockets send with MSG_NOSIGNAL; a File writes with plain write(2).
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(b);
        let mut a = std::fs::File::from(std::os::fd::OwnedFd::from(a));
        let _ = a.write(b"x");
        return; // not reached: SIGPIPE terminates the process
    }
    let flavor = mode
        .strip_prefix("net ")
        .expect("the child's mode is `net <flavor>`");
    Flavor::from_name(flavor).block_on(async {
        tcp_writes_to_a_closed_peer().await;
        unix_writes_to_a_closed_peer().await;
    });
    println!("\n{MARKER}");
}

fn assert_closed_peer_error(err: &io::Error, what: &str) {
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{what}: {err:?}"
    );
}

async fn tcp_writes_to_a_closed_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    drop(server);
    // The first writes may still be accepted locally; the peer answers them with a reset.
    let mut first_error = None;
    for _ in 0..1000 {
        match client.write(b"x").await {
            Ok(_) => runtime::time::sleep(Duration::from_millis(1)).await,
            Err(e) => {
                first_error = Some(e);
                break;
            }
        }
    }
    let err = first_error.expect("writes to a closed TCP peer kept succeeding");
    assert_closed_peer_error(&err, "TCP write");
    let err = client.write(b"x").await.unwrap_err();
    assert_closed_peer_error(&err, "TCP write after the error");
    let err = client
        .write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")])
        .await
        .unwrap_err();
    assert_closed_peer_error(&err, "TCP write_vectored");
    client.writable().await.unwrap();
    let err = client.try_write(b"x").unwrap_err();
    assert_closed_peer_error(&err, "TCP try_write");
}

async fn unix_writes_to_a_closed_peer() {
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    let err = a.write(b"x").await.unwrap_err();
    assert_closed_peer_error(&err, "Unix write");
    let err = a
        .write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")])
        .await
        .unwrap_err();
    assert_closed_peer_error(&err, "Unix write_vectored");
    let err = a.write_all(&[0; 100_000]).await.unwrap_err();
    assert_closed_peer_error(&err, "Unix write_all");
    a.writable().await.unwrap();
    let err = a.try_write(b"x").unwrap_err();
    assert_closed_peer_error(&err, "Unix try_write");
}
