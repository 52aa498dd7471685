//! A TCP echo server, with a built-in load generator that checks every echoed byte.
//!
//! ```sh
//! cargo run -p net --example echo                       # the demo: server + 64 clients, exits
//! cargo run -p net --release --example echo -- --connections 256 --messages 2000 --size 128
//! cargo run -p net --example echo -- --listen 127.0.0.1:7000   # just the server, until ctrl-c
//! ```
//!
//! With no `--listen`, it starts the server on `127.0.0.1:0` (a port the OS picks), opens
//! `--connections` client connections (default 64) on the same multi-thread runtime, and
//! each client plays ping-pong: it writes a message of `--size` bytes (default 64) and
//! reads the echo back with `read_exact` (both at once, through two `&TcpStream`s, so a
//! message larger than the socket buffers cannot deadlock), compares every byte, and only
//! then sends the next, `--messages` times (default 1000). One message in flight per
//! connection: "messages/s" is completed round trips per second, all connections together. Each message carries a pattern unique to its connection, number and offset,
//! so a byte that comes back wrong, late or on the wrong connection is caught. It prints
//! the figures and exits 0 if every byte came back intact, 1 otherwise.
//!
//! The server is DESIGN.md's first example: one task per connection, running
//! `futures_util::io::copy` from the stream to itself through two `&TcpStream`s.
//!
//! With `--listen`, it serves until SIGINT (ctrl-c) or SIGTERM, then drops the listener
//! and every connection and exits 0 (`.ci/valgrind-echo.sh` checks that under valgrind:
//! no descriptor or memory left behind).
//!
//! Bad arguments print the usage and exit 2.

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::future::{join, select};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream};
use runtime::signal::unix::{SignalKind, signal};
use runtime::time::timeout;

const USAGE: &str = "\
usage: echo [--connections N] [--messages M] [--size S]
       echo --listen ADDR

  with no --listen: start an echo server on 127.0.0.1:0, run N client connections
  that each send M messages of S bytes (ping-pong), check every echoed byte, print
  the figures and exit (0: all bytes intact, 1: a mismatch or an error)
    --connections N   client connections   (default 64, at most 10000)
    --messages M      messages per client  (default 1000)
    --size S          bytes per message    (default 64, at most 1048576)
  --listen ADDR: serve echo on ADDR (e.g. 127.0.0.1:7000) until SIGINT or SIGTERM";

/// How long a client waits for one echo before it calls the server stuck.
const STALL: Duration = Duration::from_secs(10);

enum Mode {
    Serve(String),
    Load(Load),
}

#[derive(Clone, Copy)]
struct Load {
    connections: usize,
    messages: u64,
    size: usize,
}

#[runtime::main]
async fn main() -> ExitCode {
    let mode = match parse_args(std::env::args().skip(1)) {
        Ok(Some(mode)) => mode,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("echo: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match mode {
        Mode::Serve(addr) => serve(&addr).await,
        Mode::Load(load) => demo(load).await,
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Mode>, String> {
    let mut load = Load {
        connections: 64,
        messages: 1000,
        size: 64,
    };
    let mut listen = None;
    let mut load_options = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => listen = Some(value()?),
            "--connections" => load.connections = number(&flag, &value()?, 1, 10_000)?,
            "--messages" => load.messages = number(&flag, &value()?, 1, u64::MAX)?,
            "--size" => load.size = number(&flag, &value()?, 1, 1 << 20)?,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
        load_options |= flag != "--listen";
    }
    match listen {
        Some(_) if load_options => {
            Err("--listen runs only the server; it takes no load options".into())
        }
        Some(addr) => Ok(Some(Mode::Serve(addr))),
        None => Ok(Some(Mode::Load(load))),
    }
}

fn number<T>(flag: &str, text: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match text.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{flag} takes a whole number from {min} to {max}, not {text:?}"
        )),
    }
}

/// `--listen`: serve until SIGINT or SIGTERM. Both handlers are installed before the
/// bind, so a signal sent once the address is printed always takes this path.
async fn serve(addr: &str) -> ExitCode {
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("echo: cannot install the signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => return bind_failed(addr, &e),
    };
    match listener.local_addr() {
        Ok(addr) => println!("echo server listening on {addr}"),
        Err(e) => eprintln!("echo: listening, but local_addr failed: {e}"),
    }
    let (term, ctrl_c) = (pin!(terminate.recv()), pin!(interrupt.recv()));
    let stop = select(term, ctrl_c);
    // The accept loop never ends: only a signal (or the runtime shutting down) does. The
    // listener is dropped here, the connections' tasks with the runtime.
    let _ = select(pin!(accept_loop(listener)), stop).await;
    println!("echo: shutting down");
    ExitCode::SUCCESS
}

fn bind_failed(addr: &str, e: &io::Error) -> ExitCode {
    eprintln!("echo: cannot listen on {addr:?}: {e}");
    match e.kind() {
        io::ErrorKind::InvalidInput => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
        _ => ExitCode::FAILURE,
    }
}

/// Accepts forever, one echo task per connection.
async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                runtime::spawn(echo(stream));
            }
            // Out of descriptors, or a client that gave up before we accepted it: report
            // and go on (after EMFILE the next accept backs off by itself).
            Err(e) => eprintln!("echo: accept failed: {e}"),
        }
    }
}

/// Echoes everything `stream` sends until it closes its side.
async fn echo(stream: TcpStream) {
    // Every message is a small write the client waits on: do not let Nagle hold it back.
    let _ = stream.set_nodelay(true);
    let (mut r, mut w) = (&stream, &stream);
    // A peer that resets the connection just ends this task.
    let _ = futures_util::io::copy(&mut r, &mut w).await;
}

/// The default mode: server and clients in one process.
async fn demo(load: Load) -> ExitCode {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => return bind_failed("127.0.0.1:0", &e),
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("echo: local_addr failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime::spawn(accept_loop(listener));
    println!("echo server on {addr}");
    println!(
        "{} connections x {} messages x {} bytes, ping-pong",
        load.connections, load.messages, load.size
    );

    let start = Instant::now();
    let clients: Vec<_> = (0..load.connections)
        .map(|id| runtime::spawn(client(addr, id as u64, load)))
        .collect();
    let mut checked = 0u64;
    let mut failures = 0usize;
    for (id, handle) in clients.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(bytes)) => checked += bytes,
            Ok(Err(msg)) => {
                failures += 1;
                eprintln!("echo: client {id}: {msg}");
            }
            Err(e) => {
                failures += 1;
                eprintln!("echo: client {id} failed: {e}");
            }
        }
    }
    let elapsed = start.elapsed();
    report(load, elapsed, checked, failures)
}

fn report(load: Load, elapsed: Duration, checked: u64, failures: usize) -> ExitCode {
    let messages = load.connections as u64 * load.messages;
    println!(
        "{messages} messages in {:.3} s: {:.0} messages/s",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64()
    );
    if failures == 0 {
        println!("checked {checked} bytes: all echoed intact");
        ExitCode::SUCCESS
    } else {
        println!(
            "checked {checked} bytes; {failures} of {} connections FAILED",
            load.connections
        );
        ExitCode::FAILURE
    }
}

/// One client connection: `load.messages` round trips. Returns the bytes it checked, or
/// what went wrong.
async fn client(addr: SocketAddr, id: u64, load: Load) -> Result<u64, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr} failed: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("set_nodelay failed: {e}"))?;
    let mut message = vec![0; load.size];
    let mut echoed = vec![0; load.size];
    for seq in 0..load.messages {
        fill(&mut message, id, seq);
        // Read while writing: a message larger than the socket buffers would otherwise
        // deadlock, the server blocked writing the echo we are not yet reading.
        let (mut r, mut w) = (&stream, &stream);
        let round_trip = async {
            let (written, read) = join(w.write_all(&message), r.read_exact(&mut echoed)).await;
            written.and(read)
        };
        match timeout(STALL, round_trip).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("message {seq}: {e}")),
            Err(_) => return Err(format!("message {seq}: no echo within {STALL:?}")),
        }
        if message == echoed {
            continue;
        }
        if let Some(at) = message.iter().zip(&echoed).position(|(a, b)| a != b) {
            return Err(format!(
                "message {seq}: byte {at} came back as {:#04x}, sent {:#04x}",
                echoed[at], message[at]
            ));
        }
    }
    Ok(load.messages * load.size as u64)
}

/// Fills `buf` with a pattern unique to (connection, message, offset), up to a hash
/// collision: xorshift64 from a seed made of both numbers, eight bytes per step. (The
/// `| 1` keeps the state non-zero.)
fn fill(buf: &mut [u8], id: u64, seq: u64) {
    let mut x =
        id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq.wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}
