//! A TCP echo server under load, printing one line of `RuntimeMetrics` per second.
//!
//! ```sh
//! cargo run -p net --release --example metrics                 # 5 s, multi-thread
//! cargo run -p net --release --example metrics -- --seconds 10 --connections 128
//! cargo run -p net --release --example metrics -- --flavor current_thread
//! ```
//!
//! The server is one task per connection copying the stream to itself; the clients, on the
//! same runtime, play ping-pong with 64-byte messages until the time is up. A monitor
//! thread (not a task: it must not be delayed by the load it watches) reads
//! `Handle::metrics()` every second and prints the change since the last line:
//!
//! ```text
//! t=1s tasks=129 spawned=130 polls/s=183114 steals/s=412 parks/s=1520 busy=97% io_events/s=181005 inject=0 local=[0, 1] blocking=0/0
//! ```
//!
//! `busy` is the workers' busy time over the wall time (100% per worker at most), `local`
//! each worker's queue depth, `blocking` the blocking pool's threads (idle/total).
//! Bad arguments print the usage and exit 2.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream};
use runtime::{Builder, RuntimeMetrics};

const USAGE: &str = "\
usage: metrics [--seconds N] [--connections C] [--flavor multi_thread|current_thread]

  serve echo on 127.0.0.1:0 with C ping-pong clients (default 64) for N seconds
  (default 5), printing the runtime's metrics once a second";

struct Options {
    seconds: u64,
    connections: usize,
    multi_thread: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Option<Options> {
    let mut options = Options {
        seconds: 5,
        connections: 64,
        multi_thread: true,
    };
    while let Some(flag) = args.next() {
        let value = args.next()?;
        match flag.as_str() {
            "--seconds" => options.seconds = value.parse().ok().filter(|s| *s > 0)?,
            "--connections" => {
                options.connections = value.parse().ok().filter(|c| (1..=10_000).contains(c))?;
            }
            "--flavor" => {
                options.multi_thread = match value.as_str() {
                    "multi_thread" => true,
                    "current_thread" => false,
                    _ => return None,
                };
            }
            _ => return None,
        }
    }
    Some(options)
}

fn main() -> ExitCode {
    let Some(options) = parse(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let runtime = if options.multi_thread {
        Builder::new_multi_thread().build()
    } else {
        Builder::new_current_thread().build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("metrics: cannot build the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (metrics, done) = (runtime.metrics(), done.clone());
        thread::spawn(move || monitor(&metrics, &done))
    };
    let result = runtime.block_on(serve_and_load(options));
    done.store(true, Ordering::Relaxed);
    let _ = monitor.join();
    match result {
        Ok(round_trips) => {
            println!("{round_trips} round trips, all echoed intact");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("metrics: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the echo server and the clients until the time is up; returns the round trips.
async fn serve_and_load(options: Options) -> std::io::Result<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    runtime::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            runtime::spawn(async move {
                let (mut reader, mut writer) = (&stream, &stream);
                let _ = futures_util::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    let until = Instant::now() + Duration::from_secs(options.seconds);
    let clients: Vec<_> = (0..options.connections)
        .map(|_| runtime::spawn(client(addr, until)))
        .collect();
    let mut round_trips = 0;
    for client in clients {
        round_trips += client.await.map_err(std::io::Error::other)??;
    }
    Ok(round_trips)
}

/// Ping-pong with 64-byte messages until `until`; checks every echoed byte.
async fn client(addr: std::net::SocketAddr, until: Instant) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    let (mut message, mut back) = ([0u8; 64], [0u8; 64]);
    let mut round_trips = 0u64;
    while Instant::now() < until {
        message.fill(round_trips as u8);
        stream.write_all(&message).await?;
        stream.read_exact(&mut back).await?;
        if back != message {
            return Err(std::io::Error::other("an echoed message came back changed"));
        }
        round_trips += 1;
    }
    Ok(round_trips)
}

/// Prints a line per second until `done`: the figures that grow as rates since the last one.
fn monitor(metrics: &RuntimeMetrics, done: &AtomicBool) {
    let sum = |f: fn(&runtime::WorkerMetrics<'_>) -> u64| -> u64 {
        metrics.workers().map(|w| f(&w)).sum()
    };
    let busy = || -> Duration { metrics.workers().map(|w| w.total_busy_duration()).sum() };
    // (polls, steals, parks, busy time, I/O events, when): the figures that grow.
    let reading = || {
        (
            sum(|w| w.poll_count()),
            sum(|w| w.steal_count()),
            sum(|w| w.park_count()),
            busy(),
            metrics.io_events_dispatched(),
            Instant::now(),
        )
    };
    let mut last = reading();
    let mut second = 0;
    while !done.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(100));
        if last.5.elapsed() < Duration::from_secs(1) {
            continue;
        }
        second += 1;
        let now = reading();
        let secs = (now.5 - last.5).as_secs_f64();
        let rate = |now: u64, then: u64| ((now - then) as f64 / secs).round() as u64;
        let busy_share =
            (now.3 - last.3).as_secs_f64() / (secs * metrics.num_workers() as f64) * 100.0;
        let local: Vec<usize> = metrics.workers().map(|w| w.local_queue_depth()).collect();
        println!(
            "t={second}s tasks={} spawned={} polls/s={} steals/s={} parks/s={} busy={:.0}% \
             io_events/s={} inject={} local={local:?} blocking={}/{}",
            metrics.num_alive_tasks(),
            metrics.spawned_tasks_count(),
            rate(now.0, last.0),
            rate(now.1, last.1),
            rate(now.2, last.2),
            busy_share.min(100.0),
            rate(now.4, last.4),
            metrics.global_queue_depth(),
            metrics.num_idle_blocking_threads(),
            metrics.num_blocking_threads(),
        );
        last = now;
    }
}
