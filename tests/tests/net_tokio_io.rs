//! tokio's `AsyncRead`/`AsyncWrite` on `TcpStream` and `UnixStream` (and on `&stream`),
//! net's feature `tokio-io`: a tokio-util `LinesCodec` echo over TCP, tokio's
//! `read_exact`/`write_all`/`write_vectored`, and `shutdown` ending the stream at the peer.

use std::io::{self, IoSlice};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use net::{TcpListener, TcpStream, UnixStream};
use tests::net::{assert_same_bytes, payload, within};
use tests::rt_test;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

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

/// The lines the echo client sends: short ones, an empty one, and one longer than the
/// socket buffers, so the codec sees lines split across many reads.
fn lines() -> Vec<String> {
    let long: String = payload(31, BIG)
        .iter()
        .map(|b| char::from(b'a' + b % 26))
        .collect();
    let mut lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    lines.push(String::new());
    lines.push(long);
    lines.push("last".to_owned());
    lines
}

/// Echoes each line back with a prefix until the client closes, reading and writing
/// through `&TcpStream`; returns how many lines it echoed.
async fn echo_server(listener: TcpListener) -> usize {
    let (stream, _) = listener.accept().await.unwrap();
    let mut input = FramedRead::new(&stream, LinesCodec::new());
    let mut output = FramedWrite::new(&stream, LinesCodec::new());
    let mut echoed = 0;
    while let Some(line) = input.next().await {
        output
            .send(format!("echo: {}", line.unwrap()))
            .await
            .unwrap();
        echoed += 1;
    }
    echoed
}

async fn write_all_then_read_exact<S>(mut a: S, mut b: S, what: &str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let data = payload(32, BIG);
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

async fn shutdown_ends_the_stream<S>(mut a: S, mut b: S, what: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    within(LIMIT, what, async {
        a.write_all(b"last words").await.unwrap();
        a.shutdown().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words", "{what}");
        assert_eq!(b.read(&mut [0; 16]).await.unwrap(), 0, "{what}: EOF again");
        // The write side is shut: a write fails (EPIPE), it does not raise SIGPIPE.
        let err = a.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{what}: {err:?}");
        // The read side is still open: the peer can answer.
        b.write_all(b"reply").await.unwrap();
        let mut reply = [0; 5];
        a.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply", "{what}");
    })
    .await;
}

rt_test! {
    // Proves: a tokio-util `Framed<TcpStream, LinesCodec>` client and a server of
    // `FramedRead`/`FramedWrite` over `&TcpStream` exchange lines intact, in order, including
    // an empty line and one larger than the socket buffers; closing the client ends the
    // server's stream of lines.
    async fn lines_codec_echoes_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(echo_server(listener));
        within(LIMIT, "lines echo", async {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut client = Framed::new(stream, LinesCodec::new());
            let lines = lines();
            for line in &lines {
                client.send(line.as_str()).await.unwrap();
                let got = client.next().await.unwrap().unwrap();
                let want = format!("echo: {line}");
                assert!(got == want, "echo of a {}-byte line differs", line.len());
            }
            SinkExt::<&str>::close(&mut client).await.unwrap();
            assert!(client.next().await.is_none(), "server closes after the client");
            assert_eq!(server.await.unwrap(), lines.len());
        })
        .await;
    }

    // Proves: tokio's `write_all` of 1 MiB on one end and `read_exact` on the other, in two
    // tasks, move the bytes intact over a Unix stream pair and a TCP pair.
    async fn read_exact_and_write_all_move_a_large_buffer_intact() {
        let (a, b) = UnixStream::pair().unwrap();
        write_all_then_read_exact(a, b, "unix").await;
        let (a, b) = tcp_pair().await;
        write_all_then_read_exact(a, b, "tcp").await;
    }

    // Proves: `shutdown` shuts only the write side: the peer reads everything written
    // before it, then end-of-stream (0) on every later read; a write after it fails with
    // `BrokenPipe`; the shut end still reads what the peer sends. TCP and Unix streams.
    async fn shutdown_gives_the_peer_end_of_stream() {
        let (a, b) = UnixStream::pair().unwrap();
        shutdown_ends_the_stream(a, b, "unix").await;
        let (a, b) = tcp_pair().await;
        shutdown_ends_the_stream(a, b, "tcp").await;
    }

    // Proves: the streams report vectored writes, and tokio's `write_vectored` through
    // `&UnixStream` sends the slices in order to a reader on `&UnixStream`.
    async fn write_vectored_sends_slices_in_order() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut w, mut r) = (&a, &b);
        assert!(w.is_write_vectored() && b.is_write_vectored());
        within(LIMIT, "write_vectored", async {
            let slices = [IoSlice::new(b"one "), IoSlice::new(b""), IoSlice::new(b"two")];
            assert_eq!(w.write_vectored(&slices).await.unwrap(), 7);
            let mut got = [0; 7];
            r.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"one two");
        })
        .await;
    }

    // Proves: a read into a buffer with no room returns at once with nothing read, even
    // with no data on the socket (it does not wait for readability), and leaves the data
    // that arrives later for the next read.
    async fn read_with_no_room_returns_at_once() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        within(LIMIT, "read with no room", async {
            assert_eq!(b.read(&mut []).await.unwrap(), 0);
            a.write_all(b"x").await.unwrap();
            assert_eq!(b.read(&mut []).await.unwrap(), 0);
            let mut got = [0; 1];
            b.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"x");
        })
        .await;
    }
}
