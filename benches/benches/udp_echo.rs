//! `udp_echo`: UDP echo over loopback, 64-byte datagrams on connected sockets: a client
//! sends one and waits for it to come back before sending the next. Sockets:
//! `net::UdpSocket`, `tokio::net::UdpSocket`, `smol::Async<std::net::UdpSocket>`.
//!
//! - `udp_echo/*`: one socket pair; an iteration is 1,000 round trips.
//! - `udp_echo_16/*`: 16 socket pairs at once, a client task and an echo task per pair; an
//!   iteration is 100 round trips on every pair, 1,600 datagrams.
//!
//! Columns as everywhere (`common::bench_in_task`): `runtime`, `tokio`, `smol` on one
//! thread, `-mt` on 2 workers. An iteration binds and connects its sockets (4 syscalls per
//! socket, well under 1% of it), then runs every pair's client in a task of its own; the
//! echo side ends on an empty datagram.

mod common;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use common::Spawner;
use common::spawner::{Ours, Smol, SmolLocal, Tokio};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};

/// Bytes per datagram.
const MESSAGE: usize = 64;

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// What the iteration needs of a runtime's UDP socket.
trait Udp: Sized + Send + Sync + 'static {
    /// Binds to a loopback port the OS picks.
    fn bind() -> impl Future<Output = Self> + Send;
    fn local(&self) -> SocketAddr;
    fn connect(&self, peer: SocketAddr) -> impl Future<Output = ()> + Send;
    fn send<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = ()> + Send + 'a;
    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = usize> + Send + 'a;
}

impl Udp for net::UdpSocket {
    async fn bind() -> Self {
        net::UdpSocket::bind(LOOPBACK).await.expect("bind")
    }
    fn local(&self) -> SocketAddr {
        self.local_addr().expect("local_addr")
    }
    async fn connect(&self, peer: SocketAddr) {
        net::UdpSocket::connect(self, peer).await.expect("connect");
    }
    async fn send<'a>(&'a self, buf: &'a [u8]) {
        net::UdpSocket::send(self, buf).await.expect("send");
    }
    async fn recv<'a>(&'a self, buf: &'a mut [u8]) -> usize {
        net::UdpSocket::recv(self, buf).await.expect("recv")
    }
}

impl Udp for tokio::net::UdpSocket {
    async fn bind() -> Self {
        tokio::net::UdpSocket::bind(LOOPBACK).await.expect("bind")
    }
    fn local(&self) -> SocketAddr {
        self.local_addr().expect("local_addr")
    }
    async fn connect(&self, peer: SocketAddr) {
        tokio::net::UdpSocket::connect(self, peer)
            .await
            .expect("connect");
    }
    async fn send<'a>(&'a self, buf: &'a [u8]) {
        tokio::net::UdpSocket::send(self, buf).await.expect("send");
    }
    async fn recv<'a>(&'a self, buf: &'a mut [u8]) -> usize {
        tokio::net::UdpSocket::recv(self, buf).await.expect("recv")
    }
}

impl Udp for smol::Async<UdpSocket> {
    async fn bind() -> Self {
        smol::Async::<UdpSocket>::bind(LOOPBACK).expect("bind")
    }
    fn local(&self) -> SocketAddr {
        self.get_ref().local_addr().expect("local_addr")
    }
    async fn connect(&self, peer: SocketAddr) {
        self.get_ref().connect(peer).expect("connect");
    }
    async fn send<'a>(&'a self, buf: &'a [u8]) {
        smol::Async::<UdpSocket>::send(self, buf)
            .await
            .expect("send");
    }
    async fn recv<'a>(&'a self, buf: &'a mut [u8]) -> usize {
        smol::Async::<UdpSocket>::recv(self, buf)
            .await
            .expect("recv")
    }
}

/// One iteration: `round_trips` datagrams there and back on each of `pairs` socket pairs.
async fn udp_echo<U: Udp, S: Spawner>(spawner: S, pairs: usize, round_trips: u64) {
    let mut echoes = Vec::with_capacity(pairs);
    let mut clients = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let (server, client) = (U::bind().await, U::bind().await);
        server.connect(client.local()).await;
        client.connect(server.local()).await;
        echoes.push(spawner.spawn(echo(server)));
        clients.push(spawner.spawn(ping(client, round_trips)));
    }
    for task in clients.into_iter().chain(echoes) {
        task.await;
    }
}

/// Sends every datagram back until an empty one.
async fn echo<U: Udp>(socket: U) {
    let mut buf = [0; MESSAGE];
    loop {
        let n = socket.recv(&mut buf).await;
        if n == 0 {
            return;
        }
        socket.send(&buf[..n]).await;
    }
}

/// `round_trips` times: send a datagram, receive it back; then stop the echo side.
async fn ping<U: Udp>(socket: U, round_trips: u64) {
    let message = [7; MESSAGE];
    let mut buf = [0; MESSAGE];
    for _ in 0..round_trips {
        socket.send(&message).await;
        assert_eq!(socket.recv(&mut buf).await, MESSAGE);
    }
    socket.send(&[]).await;
}

/// The six columns of one group.
fn columns(group: &mut BenchmarkGroup<'_, WallTime>, pairs: usize, round_trips: u64) {
    type Ud = net::UdpSocket;
    type Tk = tokio::net::UdpSocket;
    type Sm = smol::Async<UdpSocket>;
    let (n, r) = (pairs, round_trips);
    common::bench_in_task(group, "runtime", &common::ours(), Ours, move || {
        udp_echo::<Ud, _>(Ours, n, r)
    });
    let rt = common::tokio();
    common::bench_in_task(group, "tokio", common::Tokio(&rt), Tokio, move || {
        udp_echo::<Tk, _>(Tokio, n, r)
    });
    common::bench_in_task(group, "smol", SmolLocal, SmolLocal, move || {
        udp_echo::<Sm, _>(SmolLocal, n, r)
    });
    common::bench_in_task(
        group,
        "runtime-mt",
        &common::ours_multi(),
        Ours,
        move || udp_echo::<Ud, _>(Ours, n, r),
    );
    let rt = common::tokio_multi();
    common::bench_in_task(group, "tokio-mt", common::Tokio(&rt), Tokio, move || {
        udp_echo::<Tk, _>(Tokio, n, r)
    });
    let threads = common::smol_threads();
    common::bench_in_task(group, "smol-mt", Smol, Smol, move || {
        udp_echo::<Sm, _>(Smol, n, r)
    });
    drop(threads);
}

fn benches(c: &mut Criterion) {
    for (name, pairs, round_trips) in [("udp_echo", 1, 1_000), ("udp_echo_16", 16, 100)] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(pairs as u64 * round_trips));
        // An iteration takes milliseconds: the same number of iterations in every sample.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(20);
        columns(&mut group, pairs, round_trips);
        group.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
