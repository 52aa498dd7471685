//! Creating net sockets outside any runtime returns an `io::Error` that says so: never a
//! panic, never a leaked descriptor or socket file. These are plain `#[test]`s: no runtime
//! is running on their threads.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::FutureExt;
use net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use tests::net::TempDir;

/// The most trivial executor: poll on this thread, park until woken. No runtime context.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn assert_no_runtime_error<T: std::fmt::Debug>(what: &str, result: io::Result<T>) {
    let err = result.expect_err(what);
    let msg = err.to_string();
    assert!(
        msg.contains("runtime"),
        "{what}: the error should say a runtime is missing, got {err:?}"
    );
}

// Proves: the synchronous Unix constructors fail with an error naming the missing runtime;
// `UnixListener::bind` and `UnixDatagram::bind` leave no socket file behind.
#[test]
fn unix_constructors_outside_a_runtime_are_errors() {
    let dir = TempDir::new("no-rt");
    assert_no_runtime_error("UnixListener::bind", UnixListener::bind(dir.join("l")));
    assert_no_runtime_error("UnixDatagram::bind", UnixDatagram::bind(dir.join("d")));
    assert_no_runtime_error("UnixStream::pair", UnixStream::pair());
    assert_no_runtime_error("UnixDatagram::pair", UnixDatagram::pair());
    assert_no_runtime_error("UnixDatagram::unbound", UnixDatagram::unbound());
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "socket files left behind"
    );
}

// Proves: the async constructors, polled by executors that are not our runtime
// (`now_or_never` polls once; a minimal std park/unpark `block_on`), resolve to an error
// naming the missing runtime instead of panicking or hanging.
#[test]
fn async_constructors_driven_outside_a_runtime_are_errors() {
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listening.local_addr().unwrap();
    let dir = TempDir::new("no-rt-async");
    let polled_once = [
        (
            "TcpListener::bind",
            TcpListener::bind("127.0.0.1:0")
                .now_or_never()
                .map(|r| r.map(drop)),
        ),
        (
            "TcpStream::connect",
            TcpStream::connect(addr).now_or_never().map(|r| r.map(drop)),
        ),
        (
            "UdpSocket::bind",
            UdpSocket::bind("127.0.0.1:0")
                .now_or_never()
                .map(|r| r.map(drop)),
        ),
        (
            "UnixStream::connect",
            UnixStream::connect(dir.join("none"))
                .now_or_never()
                .map(|r| r.map(drop)),
        ),
    ];
    for (what, result) in polled_once {
        let result = result.unwrap_or_else(|| panic!("{what}: pending on its first poll"));
        if what == "UnixStream::connect" {
            // Nothing listens there: the OS error comes before the runtime is needed.
            assert!(result.is_err(), "{what}");
        } else {
            assert_no_runtime_error(what, result);
        }
    }
    assert_no_runtime_error(
        "block_on(TcpListener::bind)",
        block_on(TcpListener::bind("127.0.0.1:0")),
    );
    assert_no_runtime_error(
        "block_on(TcpStream::connect)",
        block_on(TcpStream::connect(addr)),
    );
    assert_no_runtime_error(
        "block_on(UdpSocket::bind)",
        block_on(UdpSocket::bind("127.0.0.1:0")),
    );
}

// Proves: an address that needs a lookup (a host name) also yields an error outside a
// runtime, not a panic from trying to reach the blocking pool.
#[test]
fn a_host_name_outside_a_runtime_is_an_error_not_a_panic() {
    let outcome = std::panic::catch_unwind(|| block_on(TcpListener::bind("localhost:0")));
    let result = outcome.unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        panic!("TcpListener::bind(\"localhost:0\") outside a runtime panicked: {msg}")
    });
    assert_no_runtime_error("TcpListener::bind(\"localhost:0\")", result);
    let result = std::panic::catch_unwind(|| block_on(TcpStream::connect(("localhost", 1))))
        .unwrap_or_else(|_| panic!("TcpStream::connect((\"localhost\", 1)) panicked"));
    assert_no_runtime_error("TcpStream::connect((\"localhost\", 1))", result);
}
