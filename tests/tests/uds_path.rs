//! Unix socket names: Linux abstract names round-trip exactly; path-length edges around
//! `sun_path` (108 bytes on Linux, one kept for the NUL); interior NUL bytes; binding over
//! an existing (stale) socket file.

#[cfg(target_os = "linux")]
use std::ffi::OsStr;
use std::ffi::OsString;
use std::io;
#[cfg(target_os = "linux")]
use std::os::unix::ffi::OsStrExt;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use net::{UnixDatagram, UnixListener, UnixStream};
use tests::net::{TempDir, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

/// A path inside `dir` exactly `len` bytes long.
fn path_of_len(dir: &TempDir, len: usize) -> PathBuf {
    let prefix = dir.path().as_os_str().len() + 1;
    assert!(len > prefix, "the temporary directory's path is too long");
    let path = dir.join("p".repeat(len - prefix));
    assert_eq!(path.as_os_str().len(), len);
    path
}

#[cfg(target_os = "linux")]
/// An abstract name (no leading NUL) of this process and call, so concurrent runs and the
/// two flavors of a case do not collide.
fn abstract_name(tag: &str) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("net-tests-{tag}-{}-{n}", std::process::id()).into_bytes()
}

#[cfg(target_os = "linux")]
/// `"\0" + name` as a path, the form `bind` and `connect` take.
fn abstract_path(name: &[u8]) -> PathBuf {
    let mut bytes = vec![0];
    bytes.extend_from_slice(name);
    PathBuf::from(OsStr::from_bytes(&bytes))
}

/// The longest path `sun_path` holds with its NUL terminator: 107 on Linux (104 - 1 on
/// the BSDs and macOS).
fn longest_path() -> usize {
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_path.len() - 1
}

async fn assert_all_refuse_the_path(path: &Path, what: &str) {
    let unbound = UnixDatagram::unbound().unwrap();
    let errs = [
        ("UnixListener::bind", UnixListener::bind(path).map(drop)),
        ("UnixDatagram::bind", UnixDatagram::bind(path).map(drop)),
        (
            "UnixStream::connect",
            UnixStream::connect(path).await.map(drop),
        ),
        ("UnixDatagram::connect", unbound.connect(path)),
        (
            "UnixDatagram::send_to",
            unbound.send_to(b"x", path).await.map(drop),
        ),
    ];
    for (call, result) in errs {
        let err = result.expect_err(&format!("{call} with a {what}"));
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "{call}, {what}: {err}"
        );
    }
}

rt_test! {
    // Proves (Linux): an abstract name, including one with an interior NUL byte and one of the
    // maximum 107 bytes, round-trips exactly: the listener's `local_addr`, the client's
    // `peer_addr` and the accepted stream's `local_addr` all give back the same bytes through
    // `as_abstract_name`, and no file is involved.
    #[cfg(target_os = "linux")]
    async fn abstract_names_round_trip_exactly() {
        let mut long = abstract_name("long");
        long.resize(107, b'x');
        let mut with_nul = abstract_name("nul");
        with_nul.extend_from_slice(b"\0tail\0");
        for name in [abstract_name("plain"), with_nul, long] {
            let path = abstract_path(&name);
            let listener = UnixListener::bind(&path).unwrap();
            let local = listener.local_addr().unwrap();
            assert_eq!(local.as_abstract_name(), Some(&name[..]), "{local:?}");
            assert_eq!(local.as_pathname(), None);
            let client = within(LIMIT, "connect", UnixStream::connect(&path))
                .await
                .unwrap();
            let (accepted, _) = within(LIMIT, "accept", listener.accept()).await.unwrap();
            assert_eq!(
                client.peer_addr().unwrap().as_abstract_name(),
                Some(&name[..])
            );
            assert_eq!(
                accepted.local_addr().unwrap().as_abstract_name(),
                Some(&name[..])
            );
        }
    }

    // Proves (Linux): abstract names work for datagram sockets too, and the receiver sees the
    // sender's abstract name exactly in `recv_from`; an abstract name one byte too long (108)
    // is `InvalidInput`.
    #[cfg(target_os = "linux")]
    async fn abstract_datagram_names_round_trip_through_recv_from() {
        let (rx_name, tx_name) = (abstract_name("rx"), abstract_name("tx\0x"));
        let rx = UnixDatagram::bind(abstract_path(&rx_name)).unwrap();
        let tx = UnixDatagram::bind(abstract_path(&tx_name)).unwrap();
        within(LIMIT, "abstract datagram", async {
            tx.send_to(b"hi", abstract_path(&rx_name)).await.unwrap();
            let mut buf = [0; 8];
            let (n, from) = rx.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hi");
            assert_eq!(from.as_abstract_name(), Some(&tx_name[..]));
        })
        .await;
        let err = UnixListener::bind(abstract_path(&[b'x'; 108])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    // Proves: a path of the longest length (107 bytes on Linux, where sun_path is 108 and one
    // byte is kept for the NUL) binds a listener and a datagram socket, connects, and
    // round-trips through `local_addr`/`peer_addr`; one, two and many bytes more (108, 109 and
    // 300 on Linux) are `InvalidInput` for every call that takes a path, and create no file
    // (nothing is truncated to a shorter name).
    async fn path_length_edges_around_sun_path() {
        let max = longest_path();
        if cfg!(target_os = "linux") {
            assert_eq!(max, 107);
        }
        let dir = TempDir::new("uds-len");
        let fits = path_of_len(&dir, max);
        let listener = UnixListener::bind(&fits).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*fits));
        let client = within(LIMIT, "connect", UnixStream::connect(&fits))
            .await
            .unwrap();
        assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(&*fits));
        drop((listener, client));
        std::fs::remove_file(&fits).unwrap();
        let dgram = UnixDatagram::bind(&fits).unwrap();
        assert_eq!(dgram.local_addr().unwrap().as_pathname(), Some(&*fits));
        drop(dgram);
        std::fs::remove_file(&fits).unwrap();

        for len in [max + 1, max + 2, 300] {
            let path = path_of_len(&dir, len);
            assert_all_refuse_the_path(&path, &format!("{len}-byte path")).await;
        }
        assert_eq!(
            dir.entries(),
            Vec::<String>::new(),
            "no file may be created"
        );
    }

    // Proves: a path with an interior NUL byte is `InvalidInput` for every call that takes a
    // path, and nothing is created under the part before the NUL.
    async fn a_path_with_an_interior_nul_is_invalid_input() {
        let dir = TempDir::new("uds-nul");
        let mut bytes = dir.join("before").into_os_string().into_vec();
        bytes.extend_from_slice(b"\0after");
        let path = PathBuf::from(OsString::from_vec(bytes));
        assert_all_refuse_the_path(&path, "interior NUL").await;
        assert_eq!(
            dir.entries(),
            Vec::<String>::new(),
            "no file may be created"
        );
    }

    // Proves: binding over an existing socket file left by a dropped listener (a stale file)
    // is `AddrInUse` for a listener and a datagram socket, and the file is not removed; the
    // same holds for a regular file in the way.
    async fn binding_over_an_existing_file_is_addr_in_use_and_keeps_it() {
        let dir = TempDir::new("uds-stale");
        let stale = dir.join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        let regular = dir.join("regular");
        std::fs::write(&regular, b"keep me").unwrap();

        for path in [&stale, &regular] {
            let errs = [
                ("UnixListener::bind", UnixListener::bind(path).map(drop)),
                ("UnixDatagram::bind", UnixDatagram::bind(path).map(drop)),
            ];
            for (call, result) in errs {
                let err = result.expect_err(call);
                assert_eq!(
                    err.kind(),
                    io::ErrorKind::AddrInUse,
                    "{call} {path:?}: {err}"
                );
            }
        }
        let meta = std::fs::symlink_metadata(&stale).expect("the stale socket file is kept");
        assert!(meta.file_type().is_socket());
        assert_eq!(std::fs::read(&regular).unwrap(), b"keep me");
    }
}
