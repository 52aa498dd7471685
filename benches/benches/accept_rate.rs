//! `accept_rate`: connect/accept/close cycles over loopback, one at a time. The client
//! connects; the server accepts and closes at once; the client reads the end of stream
//! and closes. The server closes first, so TIME_WAIT stays on its side and the client's
//! ephemeral ports are not used up. An iteration is 100 cycles on a new listener.
//!
//! Columns as everywhere (`common::bench_in_task`): `runtime`, `tokio`, `smol` on one
//! thread, `-mt` on 2 workers; the accepting loop is a task of its own, the connecting one
//! the timed task.

mod common;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};

use common::Spawner;
use common::spawner::{Ours, Smol, SmolLocal, Tokio};
use criterion::{Criterion, SamplingMode, Throughput};

/// Cycles per iteration.
const CYCLES: u64 = 100;

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// What a cycle needs of a runtime's TCP types.
trait Tcp: Send + 'static {
    type Listener: Send + Sync + 'static;
    type Stream: Send + 'static;
    /// A listener on a loopback port the OS picks, and that port.
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send;
    fn accept(listener: &Self::Listener) -> impl Future<Output = Self::Stream> + Send + '_;
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream> + Send;
    /// Reads until the peer's close, expecting no bytes.
    fn read_eof(stream: &mut Self::Stream) -> impl Future<Output = ()> + Send + '_;
}

/// Ours: `net::TcpListener` and `net::TcpStream`.
struct OursTcp;

impl Tcp for OursTcp {
    type Listener = net::TcpListener;
    type Stream = net::TcpStream;
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = net::TcpListener::bind(LOOPBACK).await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        listener.accept().await.expect("accept").0
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        net::TcpStream::connect(addr).await.expect("connect")
    }
    async fn read_eof(stream: &mut Self::Stream) {
        use futures_util::io::AsyncReadExt;
        assert_eq!(stream.read(&mut [0; 16]).await.expect("read"), 0);
    }
}

/// tokio's `TcpListener` and `TcpStream`.
struct TokioTcp;

impl Tcp for TokioTcp {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind(LOOPBACK).await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        listener.accept().await.expect("accept").0
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        tokio::net::TcpStream::connect(addr).await.expect("connect")
    }
    async fn read_eof(stream: &mut Self::Stream) {
        use tokio::io::AsyncReadExt;
        assert_eq!(stream.read(&mut [0; 16]).await.expect("read"), 0);
    }
}

/// smol's `Async<TcpListener>` and `Async<TcpStream>`.
struct SmolTcp;

impl Tcp for SmolTcp {
    type Listener = smol::Async<std::net::TcpListener>;
    type Stream = smol::Async<std::net::TcpStream>;
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = smol::Async::<std::net::TcpListener>::bind(LOOPBACK).expect("bind");
        let addr = listener.get_ref().local_addr().expect("local_addr");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        listener.accept().await.expect("accept").0
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        smol::Async::<std::net::TcpStream>::connect(addr)
            .await
            .expect("connect")
    }
    async fn read_eof(stream: &mut Self::Stream) {
        use futures_util::io::AsyncReadExt;
        assert_eq!(stream.read(&mut [0; 16]).await.expect("read"), 0);
    }
}

/// One iteration: `CYCLES` connect/accept/close cycles on a new listener.
async fn cycles<T: Tcp, S: Spawner>(spawner: S) {
    let (listener, addr) = T::listen().await;
    let server = spawner.spawn(async move {
        for _ in 0..CYCLES {
            drop(T::accept(&listener).await);
        }
    });
    for _ in 0..CYCLES {
        let mut stream = T::connect(addr).await;
        T::read_eof(&mut stream).await;
    }
    server.await;
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("accept_rate");
    group.throughput(Throughput::Elements(CYCLES));
    // An iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    let g = &mut group;
    common::bench_in_task(g, "runtime", &common::ours(), Ours, || {
        cycles::<OursTcp, _>(Ours)
    });
    let rt = common::tokio();
    common::bench_in_task(g, "tokio", common::Tokio(&rt), Tokio, || {
        cycles::<TokioTcp, _>(Tokio)
    });
    common::bench_in_task(g, "smol", SmolLocal, SmolLocal, || {
        cycles::<SmolTcp, _>(SmolLocal)
    });
    common::bench_in_task(g, "runtime-mt", &common::ours_multi(), Ours, || {
        cycles::<OursTcp, _>(Ours)
    });
    let rt = common::tokio_multi();
    common::bench_in_task(g, "tokio-mt", common::Tokio(&rt), Tokio, || {
        cycles::<TokioTcp, _>(Tokio)
    });
    let threads = common::smol_threads();
    common::bench_in_task(g, "smol-mt", Smol, Smol, || cycles::<SmolTcp, _>(Smol));
    drop(threads);
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
