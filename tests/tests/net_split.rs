//! `into_split` on `TcpStream` and `UnixStream`, as tokio's: the owned halves move to
//! different tasks and carry data both ways, dropping the write half shuts the write side
//! down (the peer reads end-of-stream) unless it was forgotten, and `reunite` gives the
//! stream back only for halves of the same stream (else `ReuniteError` with both halves).

use std::io::{self, Read};
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream, UnixStream};
use tests::net::{assert_same_bytes, payload, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(30);

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = futures_util::join!(client, listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

/// A runtime stream and its peer as a non-blocking std stream, read with plain syscalls so
/// `WouldBlock` and end-of-stream are the kernel's answer, not cached readiness.
fn std_pair() -> (UnixStream, std::os::unix::net::UnixStream) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    (UnixStream::from_std(a).unwrap(), b)
}

rt_test! {
    // Proves: with the read half in one task and the write half in another, data larger
    // than the socket buffers crosses both ways; dropping the write half lets the peer read
    // end-of-stream while the read half still receives.
    async fn tcp_halves_work_from_different_tasks() {
        let (a, b) = tcp_pair().await;
        let (mut read, mut write) = a.into_split();
        let up = payload(1, 300_000);
        let down = payload(2, 300_000);
        let writer = runtime::spawn({
            let up = up.clone();
            async move {
                write.write_all(&up).await.unwrap();
                // Dropped here: the peer then reads end-of-stream.
            }
        });
        let reader = runtime::spawn({
            let len = down.len();
            async move {
                let mut got = vec![0; len];
                read.read_exact(&mut got).await.unwrap();
                got
            }
        });
        within(LIMIT, "split exchange", async {
            let mut got = Vec::new();
            let (mut b_read, mut b_write) = (&b, &b);
            let (read_all, write_all) =
                futures_util::join!(b_read.read_to_end(&mut got), b_write.write_all(&down));
            read_all.unwrap();
            write_all.unwrap();
            assert_same_bytes(&got, &up, "write half to peer");
            writer.await.unwrap();
            assert_same_bytes(&reader.await.unwrap(), &down, "peer to read half");
        })
        .await;
    }

    // Proves: halves of one stream reunite (in either order) into a stream that still
    // works; halves of two streams give `ReuniteError` holding both, which then reunite with
    // their own partners.
    async fn tcp_reunite_checks_the_halves_match() {
        let (a, mut peer_a) = tcp_pair().await;
        let (b, _peer_b) = tcp_pair().await;
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        let err = ra.reunite(wb).unwrap_err();
        assert!(!err.to_string().is_empty());
        let net::tcp::ReuniteError(ra, wb) = err;
        let err = wa.reunite(rb).unwrap_err();
        let net::tcp::ReuniteError(rb, wa) = err;
        let mut a = ra.reunite(wa).unwrap();
        let _b = wb.reunite(rb).unwrap();
        within(LIMIT, "reunited stream works", async {
            a.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            peer_a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
        })
        .await;
    }

    // Proves: for Unix streams, dropping the write half shuts the write side down (shutdown
    // is synchronous on a Unix socket, so the peer sees end-of-stream at once), a forgotten
    // write half does not, and mismatched halves give `ReuniteError`.
    async fn unix_halves_shut_down_on_drop_unless_forgotten() {
        let (a, mut b) = std_pair();
        let (read, write) = a.into_split();
        write.forget();
        let mut buf = [0; 1];
        let err = b.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        drop(read);

        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut read, mut write) = a.into_split();
        within(LIMIT, "unix halves", async {
            write.write_all(b"x").await.unwrap();
            drop(write);
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"x");
            b.write_all(b"y").await.unwrap();
            read.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"y");
        })
        .await;

        let (c, _d) = UnixStream::pair().unwrap();
        let (e, _f) = UnixStream::pair().unwrap();
        let (rc, wc) = c.into_split();
        let (re, we) = e.into_split();
        let net::unix::ReuniteError(rc, we) = rc.reunite(we).unwrap_err();
        rc.reunite(wc).unwrap();
        re.reunite(we).unwrap();
    }

    // Proves: closing the write half (`AsyncWriteExt::close`) shuts the write side down at
    // once, and the later drop is harmless.
    async fn unix_close_shuts_the_write_half_down() {
        let (a, mut b) = std_pair();
        let (_read, mut write) = a.into_split();
        within(LIMIT, "close", write.close()).await.unwrap();
        let mut buf = [0; 1];
        assert_eq!(b.read(&mut buf).unwrap(), 0);
        drop(write);
    }
}
