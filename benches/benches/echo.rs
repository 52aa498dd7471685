//! `echo`: TCP echo over loopback, 64-byte messages (the client writes a message and
//! reads it back), `TCP_NODELAY` on both ends. Sockets: `net::TcpStream`,
//! `tokio::net::TcpStream`, `smol::Async<std::net::TcpStream>`.
//!
//! - `echo/*`: one connection per sample, server and client tasks on the same runtime; an
//!   iteration is 1,000 round trips. Connecting and accepting are outside the timed part
//!   (`iter_custom`). `runtime`, `tokio`, `smol` are the current-thread runtimes (ours,
//!   tokio's `current_thread`, smol's `LocalExecutor`; the client runs inside `block_on`);
//!   `-mt` the multi-thread ones with 2 workers (ours, tokio's `multi_thread`, smol's
//!   `Executor` on 2 threads; the client runs in a task on a worker).
//! - `echo_64/*`: 64 connections to a server on the runtime under test (the same six); an
//!   iteration is 100 round trips on every connection at once, 6,400 messages. The client
//!   is the same for every server: tokio's current-thread runtime on the bench thread,
//!   connected before the measurement. A current-thread server runs `block_on` on a
//!   thread of its own. After each row a line gives the server's CPU time per message:
//!   the time on CPU of every thread but the bench thread (`/proc/self/task/*/schedstat`)
//!   over all the row's iterations, warm-up included.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use common::Spawner;
use common::spawner::{Ours, Smol, SmolLocal, Tokio};
use criterion::async_executor::AsyncExecutor;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};

/// Round trips per iteration of `echo`.
const ROUND_TRIPS: u64 = 1_000;
/// Connections of `echo_64`.
const CONNECTIONS: usize = 64;
/// Round trips per connection per iteration of `echo_64`.
const ROUND_TRIPS_EACH: u64 = 100;
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

async fn smol<S: Spawner>(spawner: S, iters: u64) -> Duration {
    use smol::Async;
    use std::net::{TcpListener, TcpStream};

    let listener = Async::<TcpListener>::bind(LOOPBACK).expect("bind");
    let addr = listener.get_ref().local_addr().expect("local_addr");
    let server = spawner.spawn(async move {
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

    {
        let rt = common::ours();
        group.bench_function("runtime", |b| b.to_async(&rt).iter_custom(ours));
    }
    {
        let rt = common::tokio();
        group.bench_function("tokio", |b| {
            b.to_async(common::Tokio(&rt)).iter_custom(tokio)
        });
    }
    group.bench_function("smol", |b| {
        b.to_async(SmolLocal)
            .iter_custom(|iters| smol(SmolLocal, iters))
    });

    {
        let rt = common::ours_multi();
        group.bench_function("runtime-mt", |b| {
            b.to_async(&rt).iter_custom(|iters| Ours.spawn(ours(iters)))
        });
    }
    {
        let rt = common::tokio_multi();
        group.bench_function("tokio-mt", |b| {
            b.to_async(common::Tokio(&rt))
                .iter_custom(|iters| Tokio.spawn(tokio(iters)))
        });
    }
    {
        let _threads = common::smol_threads();
        group.bench_function("smol-mt", |b| {
            b.to_async(Smol)
                .iter_custom(|iters| Smol.spawn(smol(Smol, iters)))
        });
    }

    group.finish();
}

/// `echo_64`'s servers: each accepts `CONNECTIONS` connections, echoes on each in a task
/// of its own, and returns once the client has closed them all.
mod servers {
    use super::{CONNECTIONS, Spawner, futures_io_streams, tokio_streams};

    pub async fn ours<S: Spawner>(spawner: S, listener: std::net::TcpListener) {
        let listener = net::TcpListener::from_std(listener).expect("adopt the listener");
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            tasks.push(spawner.spawn(futures_io_streams::echo(stream)));
        }
        for task in tasks {
            task.await;
        }
    }

    pub async fn tokio<S: Spawner>(spawner: S, listener: std::net::TcpListener) {
        let listener = tokio::net::TcpListener::from_std(listener).expect("adopt the listener");
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            tasks.push(spawner.spawn(tokio_streams::echo(stream)));
        }
        for task in tasks {
            task.await;
        }
    }

    pub async fn smol<S: Spawner>(spawner: S, listener: std::net::TcpListener) {
        let listener = smol::Async::new(listener).expect("adopt the listener");
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.get_ref().set_nodelay(true).expect("nodelay");
            tasks.push(spawner.spawn(futures_io_streams::echo(stream)));
        }
        for task in tasks {
            task.await;
        }
    }
}

/// `echo_64`'s client, the same for every server: tokio's current-thread runtime on the
/// bench thread, holding `CONNECTIONS` connections from one sample to the next.
struct Clients {
    rt: tokio::runtime::Runtime,
    streams: Vec<tokio::net::TcpStream>,
}

impl Clients {
    fn connect(addr: SocketAddr) -> Clients {
        let rt = common::tokio();
        let streams = rt.block_on(async {
            let mut streams = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                streams.push(stream);
            }
            streams
        });
        Clients { rt, streams }
    }

    /// `round_trips` round trips on every connection at once, a task per connection.
    fn run(&mut self, round_trips: u64) {
        let streams = std::mem::take(&mut self.streams);
        self.streams = self.rt.block_on(async move {
            let tasks: Vec<_> = streams
                .into_iter()
                .map(|mut stream| {
                    tokio::spawn(async move {
                        tokio_streams::ping(&mut stream, round_trips).await;
                        stream
                    })
                })
                .collect();
            let mut streams = Vec::with_capacity(CONNECTIONS);
            for task in tasks {
                streams.push(task.await.expect("client task"));
            }
            streams
        });
    }
}

/// Time on CPU of every thread of this process but the calling one, or `None` where
/// `/proc/self/task/*/schedstat` cannot be read. A thread that exits takes its time with
/// it: only the servers' threads may, and they outlive the measurement.
fn others_cpu() -> Option<Duration> {
    let me = std::fs::read_link("/proc/thread-self").ok()?;
    let me = me.file_name()?;
    let mut nanos = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        if task.file_name() == me {
            continue;
        }
        // A thread that exited since `read_dir` has no file any more: it counts as zero.
        let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

/// One row of `echo_64`: `start` starts the server on the listener and returns what
/// waits for it to end.
fn bench_server(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    start: impl FnOnce(std::net::TcpListener) -> Box<dyn FnOnce()>,
) {
    let listener = std::net::TcpListener::bind(LOOPBACK).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("local_addr");
    let wait = start(listener);
    let mut clients = Clients::connect(addr);

    let (mut server_cpu, mut wall, mut messages) = (Some(Duration::ZERO), Duration::ZERO, 0);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let round_trips = iters * ROUND_TRIPS_EACH;
            let cpu_before = others_cpu();
            let start = Instant::now();
            clients.run(round_trips);
            let elapsed = start.elapsed();
            server_cpu = server_cpu
                .zip(others_cpu().zip(cpu_before))
                .map(|(sum, (after, before))| sum + after.saturating_sub(before));
            wall += elapsed;
            messages += round_trips * CONNECTIONS as u64;
            elapsed
        })
    });
    drop(clients);
    wait();

    match server_cpu {
        Some(cpu) => println!(
            "echo_64/{name}: server CPU {:.0} ns per message, {:.2} cores busy ({messages} messages)",
            cpu.as_nanos() as f64 / messages as f64,
            cpu.as_secs_f64() / wall.as_secs_f64(),
        ),
        None => println!("echo_64/{name}: server CPU unknown (no /proc/self/task/*/schedstat)"),
    }
}

/// Runs `serve` on `block_on` of a thread of its own; the returned function joins it.
fn on_thread(serve: impl FnOnce() + Send + 'static) -> Box<dyn FnOnce()> {
    let server = thread::Builder::new()
        .name("echo-server".to_owned())
        .spawn(serve)
        .expect("start the server thread");
    Box::new(move || server.join().expect("the server panicked"))
}

fn echo_64(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo_64");
    group.throughput(Throughput::Elements(CONNECTIONS as u64 * ROUND_TRIPS_EACH));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    bench_server(&mut group, "runtime", |listener| {
        on_thread(move || common::ours().block_on(servers::ours(Ours, listener)))
    });
    bench_server(&mut group, "tokio", |listener| {
        on_thread(move || common::tokio().block_on(servers::tokio(Tokio, listener)))
    });
    bench_server(&mut group, "smol", |listener| {
        on_thread(move || SmolLocal.block_on(servers::smol(SmolLocal, listener)))
    });

    bench_server(&mut group, "runtime-mt", |listener| {
        let rt = common::ours_multi();
        let server = rt.spawn(servers::ours(Ours, listener));
        Box::new(move || rt.block_on(server).expect("the server panicked"))
    });
    bench_server(&mut group, "tokio-mt", |listener| {
        let rt = common::tokio_multi();
        let server = rt.spawn(servers::tokio(Tokio, listener));
        Box::new(move || rt.block_on(server).expect("the server panicked"))
    });
    bench_server(&mut group, "smol-mt", |listener| {
        let threads = common::smol_threads();
        let server = Smol.spawn(servers::smol(Smol, listener));
        Box::new(move || {
            smol::block_on(server);
            drop(threads);
        })
    });

    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    echo(&mut c);
    echo_64(&mut c);
    c.final_summary();
}
