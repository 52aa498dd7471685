//! `futures_io::AsyncRead`/`AsyncWrite` on `TcpStream` and `UnixStream` (and on `&stream`)
//! through `futures-util`: `read_exact`, `write_all`, `copy`, `close`, vectored writes,
//! full-duplex use from two tasks, and writes to a closed peer.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Cursor};
use net::{TcpListener, TcpStream, UnixStream};
use tests::net::{assert_same_bytes, payload, within};
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(60);
/// Larger than any default socket buffer, so writers block and resume.
const BIG: usize = 1 << 20;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

async fn write_all_then_read_exact<S>(mut a: S, mut b: S, what: &str)
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let data = payload(11, BIG);
    let writer = runtime::spawn({
        let data = data.clone();
        async move {
            a.write_all(&data).await.unwrap();
            a
        }
    });
    within(LIMIT, what, async {
        let mut got = vec![0; BIG];
        b.read_exact(&mut got).await.unwrap();
        assert_same_bytes(&got, &data, what);
        writer.await.unwrap();
    })
    .await;
}

async fn copy_through<S>(mut a: S, mut b: S, what: &str)
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let data = payload(12, BIG + 12_345);
    let sender = runtime::spawn({
        let data = data.clone();
        async move {
            let copied = futures_util::io::copy(Cursor::new(data), &mut a)
                .await
                .unwrap();
            a.close().await.unwrap();
            copied
        }
    });
    within(LIMIT, what, async {
        let mut got = Vec::new();
        let copied = futures_util::io::copy(&mut b, &mut got).await.unwrap();
        assert_eq!(copied as usize, data.len(), "{what}");
        assert_same_bytes(&got, &data, what);
        assert_eq!(sender.await.unwrap() as usize, data.len(), "{what}");
    })
    .await;
}

async fn vectored_through<S>(mut a: S, mut b: S, what: &str)
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let pieces: Vec<Vec<u8>> = (0..1500)
        .map(|i| payload(i, (i as usize * 37) % 1000))
        .collect();
    let whole: Vec<u8> = pieces.concat();
    let writer = runtime::spawn(async move {
        let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
        let mut bufs = &mut slices[..];
        IoSlice::advance_slices(&mut bufs, 0);
        let mut calls = 0;
        while !bufs.is_empty() {
            let n = a.write_vectored(bufs).await.unwrap();
            assert_ne!(n, 0, "write_vectored wrote nothing");
            IoSlice::advance_slices(&mut bufs, n);
            calls += 1;
        }
        a.close().await.unwrap();
        calls
    });
    within(LIMIT, what, async {
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_same_bytes(&got, &whole, what);
        assert!(
            writer.await.unwrap() >= 2,
            "{what}: 1500 slices need several calls"
        );
    })
    .await;
}

async fn full_duplex<S: Send + Sync + 'static>(a: S, b: S, what: &str)
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
{
    let (a, b) = (Arc::new(a), Arc::new(b));
    let (to_b, to_a) = (payload(21, BIG), payload(22, BIG));
    let tasks = [
        spawn_writer(a.clone(), to_b.clone()),
        spawn_writer(b.clone(), to_a.clone()),
        spawn_reader(b, to_b),
        spawn_reader(a, to_a),
    ];
    within(LIMIT, what, async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await;
}

fn spawn_writer<S: Send + Sync + 'static>(s: Arc<S>, data: Vec<u8>) -> runtime::task::JoinHandle<()>
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
{
    runtime::spawn(async move {
        let mut w = &*s;
        w.write_all(&data).await.unwrap();
    })
}

fn spawn_reader<S: Send + Sync + 'static>(s: Arc<S>, want: Vec<u8>) -> runtime::task::JoinHandle<()>
where
    for<'a> &'a S: AsyncRead + AsyncWrite + Unpin,
{
    runtime::spawn(async move {
        let mut r = &*s;
        let mut got = vec![0; want.len()];
        r.read_exact(&mut got).await.unwrap();
        assert_same_bytes(&got, &want, "full duplex");
    })
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

rt_test! {
    // Proves: `write_all` of 1 MiB on one end and `read_exact` of 1 MiB on the other, in two
    // tasks, move the bytes intact, for TCP and Unix streams.
    async fn read_exact_and_write_all_move_a_large_buffer_intact() {
        let (a, b) = tcp_pair().await;
        write_all_then_read_exact(a, b, "tcp").await;
        let (a, b) = UnixStream::pair().unwrap();
        write_all_then_read_exact(a, b, "unix").await;
    }

    // Proves: `futures_util::io::copy` moves a whole source into a stream, `close` ends the
    // stream (the peer reads EOF), and `copy` from the stream into a `Vec` stops there with
    // every byte, for TCP and Unix streams.
    async fn copy_moves_everything_and_close_ends_the_stream() {
        let (a, b) = tcp_pair().await;
        copy_through(a, b, "tcp").await;
        let (a, b) = UnixStream::pair().unwrap();
        copy_through(a, b, "unix").await;
    }

    // Proves: `write_vectored` sends slices in order and reports partial writes correctly:
    // 1500 slices of varying sizes (more than IOV_MAX, 1024, and more bytes than the socket
    // buffer) written in a loop that advances past what each call took arrive as their exact
    // concatenation, for TCP and Unix streams.
    async fn vectored_writes_deliver_every_slice_in_order() {
        let (a, b) = tcp_pair().await;
        vectored_through(a, b, "tcp").await;
        let (a, b) = UnixStream::pair().unwrap();
        vectored_through(a, b, "unix").await;
    }

    // Proves: both ends can read and write at the same time through `&stream` from two tasks
    // each, with both directions carrying more than the socket buffers hold.
    // Races: on each end a writer task waits for writability while a reader task waits for
    // readability of the same descriptor; each side's writes only drain as the other side
    // reads, so a wakeup delivered to the wrong direction, or lost, deadlocks (caught by the
    // limit).
    async fn both_ends_read_and_write_at_once_from_separate_tasks() {
        let (a, b) = tcp_pair().await;
        full_duplex(a, b, "tcp").await;
        let (a, b) = UnixStream::pair().unwrap();
        full_duplex(a, b, "unix").await;
    }

    // Proves: writing to a TCP peer that closed fails with BrokenPipe or ConnectionReset
    // (after at most a few writes the kernel still accepts), and keeps failing; the process
    // is not killed (see net_sigpipe.rs for the SIGPIPE side).
    async fn tcp_writes_to_a_closed_peer_fail() {
        let (mut a, b) = tcp_pair().await;
        drop(b);
        within(LIMIT, "tcp write to a closed peer", async {
            let mut err = None;
            for _ in 0..1000 {
                match a.write_all(&[1; 1024]).await {
                    Ok(()) => runtime::time::sleep(Duration::from_millis(1)).await,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            let err = err.expect("writes to a closed peer kept succeeding");
            assert_closed_peer_error(&err, "first failing write");
            let err = a.write_all(b"again").await.unwrap_err();
            assert_closed_peer_error(&err, "write after the error");
        })
        .await;
    }

    // Proves: writing to a Unix stream whose peer closed fails at once with BrokenPipe (or
    // ConnectionReset), also through `&UnixStream` and vectored.
    async fn unix_writes_to_a_closed_peer_fail() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        within(LIMIT, "unix write to a closed peer", async {
            let mut w = &a;
            let err = w.write_all(b"x").await.unwrap_err();
            assert_closed_peer_error(&err, "write_all");
            let err = w.write_vectored(&[IoSlice::new(b"x")]).await.unwrap_err();
            assert_closed_peer_error(&err, "write_vectored");
        })
        .await;
    }
}
