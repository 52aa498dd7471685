//! `echo`: TCP echo over loopback, server and client tasks on the same runtime.
//!
//! One connection per sample; an iteration is 1,000 round trips of 64 bytes (the client
//! writes 64 bytes and reads them back). Connecting and accepting are outside the timed
//! part (`iter_custom`). Both ends set `TCP_NODELAY`. Sockets: `net::TcpStream`,
//! `tokio::net::TcpStream`, `smol::Async<std::net::TcpStream>`.
//! Each runtime is current-thread: ours, tokio's `current_thread`, smol's `LocalExecutor`.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};

/// Round trips per iteration.
const ROUND_TRIPS: u64 = 1_000;
/// Bytes per message.
const MESSAGE: usize = 64;

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// The echo and ping loops for `futures_io` streams (ours and smol's).
mod futures_io_streams {
    use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    /// Echoes until the peer closes.
    pub async fn echo(mut stream: impl AsyncRead + AsyncWrite + Unpin) {
        let mut buf = [0; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("server read");
            if n == 0 {
                return;
            }
            stream.write_all(&buf[..n]).await.expect("server write");
        }
    }

    /// `round_trips` times: write a message, read it back.
    pub async fn ping(mut stream: impl AsyncRead + AsyncWrite + Unpin, round_trips: u64) {
        let message = [7; super::MESSAGE];
        let mut buf = [0; super::MESSAGE];
        for _ in 0..round_trips {
            stream.write_all(&message).await.expect("client write");
            stream.read_exact(&mut buf).await.expect("client read");
        }
        assert_eq!(buf, message);
    }
}

/// The same loops for tokio's streams.
mod tokio_streams {
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    /// Echoes until the peer closes.
    pub async fn echo(mut stream: impl AsyncRead + AsyncWrite + Unpin) {
        let mut buf = [0; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("server read");
            if n == 0 {
                return;
            }
            stream.write_all(&buf[..n]).await.expect("server write");
        }
    }

    /// `round_trips` times: write a message, read it back.
    pub async fn ping(mut stream: impl AsyncRead + AsyncWrite + Unpin, round_trips: u64) {
        let message = [7; super::MESSAGE];
        let mut buf = [0; super::MESSAGE];
        for _ in 0..round_trips {
            stream.write_all(&message).await.expect("client write");
            stream.read_exact(&mut buf).await.expect("client read");
        }
        assert_eq!(buf, message);
    }
}

async fn ours(iters: u64) -> Duration {
    let listener = net::TcpListener::bind(LOOPBACK).await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = runtime::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        futures_io_streams::echo(stream).await;
    });
    let client = net::TcpStream::connect(addr).await.expect("connect");
    client.set_nodelay(true).expect("nodelay");
    let start = Instant::now();
    futures_io_streams::ping(client, iters * ROUND_TRIPS).await;
    let elapsed = start.elapsed();
    server.await.expect("server task");
    elapsed
}

async fn tokio(iters: u64) -> Duration {
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        tokio_streams::echo(stream).await;
    });
    let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    client.set_nodelay(true).expect("nodelay");
    let start = Instant::now();
    tokio_streams::ping(client, iters * ROUND_TRIPS).await;
    let elapsed = start.elapsed();
    server.await.expect("server task");
    elapsed
}

async fn smol(ex: &smol::LocalExecutor<'static>, iters: u64) -> Duration {
    use smol::Async;
    use std::net::{TcpListener, TcpStream};

    let listener = Async::<TcpListener>::bind(LOOPBACK).expect("bind");
    let addr = listener.get_ref().local_addr().expect("local_addr");
    let server = ex.spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.get_ref().set_nodelay(true).expect("nodelay");
        futures_io_streams::echo(stream).await;
    });
    let client = Async::<TcpStream>::connect(addr).await.expect("connect");
    client.get_ref().set_nodelay(true).expect("nodelay");
    let start = Instant::now();
    futures_io_streams::ping(client, iters * ROUND_TRIPS).await;
    let elapsed = start.elapsed();
    server.await;
    elapsed
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    // An iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    let rt = common::ours();
    group.bench_function("runtime", |b| b.to_async(&rt).iter_custom(ours));

    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.to_async(common::Tokio(&rt)).iter_custom(tokio)
    });

    let ex = &smol::LocalExecutor::new();
    group.bench_function("smol", |b| {
        b.to_async(common::Smol(ex))
            .iter_custom(|iters| smol(ex, iters))
    });

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    echo(&mut c);
    c.final_summary();
}
