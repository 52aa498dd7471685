//! UDP multicast on loopback: one sender, two receivers sharing one port.
//!
//! ```sh
//! cargo run -p net --example multicast
//! cargo run -p net --example multicast -- --port 4242 --count 5
//! ```
//!
//! Both receivers are made with `UdpSocket::bind_multicast_v4(239.255.42.99, port,
//! 127.0.0.1)`: bound to the group's address and port and joined to the group on the
//! loopback interface. Binding the same port twice works because a multicast receiver
//! sets `SO_REUSEADDR` and `SO_REUSEPORT` (see DESIGN.md's table); a plain `bind` of a
//! unicast address would fail with `AddrInUse`. The first receiver takes a port the OS
//! picks unless `--port` is given; the second binds the same one.
//!
//! The sender is an ordinary socket on `127.0.0.1:0` that sends to the group, out of
//! loopback (`set_multicast_if_v4(127.0.0.1)`) and with `set_multicast_loop_v4(true)` so
//! this host's own members get the datagrams. Every datagram is delivered to every
//! member, so each receiver prints all of them; then the program exits 0.
//!
//! If the host cannot do multicast on loopback (the join or the first send fails, as in
//! some containers), it prints the reason and a note, and exits 0. If datagrams were sent
//! but a receiver misses one for 2 s, it exits 1. Bad arguments print the usage and exit 2.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use net::UdpSocket;
use runtime::time::timeout;

const USAGE: &str = "\
usage: multicast [--port PORT] [--count N]

  send N datagrams (default 3, at most 1000) to 239.255.42.99:PORT on loopback and
  print what each of two receivers of that group gets; PORT 0 (the default) lets the
  OS pick one";

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 42, 99);
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// How long a receiver waits for the next datagram before it reports it missing.
const PATIENCE: Duration = Duration::from_secs(2);

#[runtime::main]
async fn main() -> ExitCode {
    let (port, count) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("multicast: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (a, b) = match receivers(port) {
        Ok(pair) => pair,
        Err(e) => return no_multicast("joining the group on 127.0.0.1", &e),
    };
    let group = match a.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("multicast: local_addr failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("receivers A and B joined {group} on 127.0.0.1");
    // Datagrams that arrive before a receiver task runs wait in its socket's queue.
    let a = runtime::spawn(receive("A", a, count));
    let b = runtime::spawn(receive("B", b, count));

    if let Err((e, first)) = send(group, count).await {
        if first {
            return no_multicast("sending to the group out of 127.0.0.1", &e);
        }
        eprintln!("multicast: send failed: {e}");
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for (name, handle) in [("A", a), ("B", b)] {
        match handle.await {
            Ok(true) => {}
            Ok(false) => ok = false,
            Err(e) => {
                eprintln!("multicast: receiver {name} failed: {e}");
                ok = false;
            }
        }
    }
    if ok {
        println!("both receivers got all {count} datagrams");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<(u16, u32)>, String> {
    let (mut port, mut count) = (0, 3);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--port" => {
                let text = value()?;
                port = text.parse().map_err(|_| {
                    format!("--port takes a port number (0 to 65535), not {text:?}")
                })?;
            }
            "--count" => {
                let text = value()?;
                count = match text.parse() {
                    Ok(n @ 1..=1000) => n,
                    _ => {
                        return Err(format!(
                            "--count takes a number from 1 to 1000, not {text:?}"
                        ));
                    }
                };
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Some((port, count)))
}

/// Two members of `GROUP` on loopback, on one port (`port`, or the one the OS picks).
fn receivers(port: u16) -> io::Result<(UdpSocket, UdpSocket)> {
    let a = UdpSocket::bind_multicast_v4(GROUP, port, LOOPBACK)?;
    let port = a.local_addr()?.port();
    let b = UdpSocket::bind_multicast_v4(GROUP, port, LOOPBACK)?;
    Ok((a, b))
}

/// The host cannot do multicast here: say why, and that this is not a failure.
fn no_multicast(what: &str, e: &io::Error) -> ExitCode {
    println!("multicast: {what} failed: {e}");
    println!(
        "note: this host has no multicast route on loopback (common in containers and \
         sandboxes); nothing to show here, exiting 0"
    );
    ExitCode::SUCCESS
}

/// Sends `count` datagrams to `group`. On error, also says whether it was the first
/// send (which fails when loopback cannot send multicast at all).
async fn send(group: SocketAddr, count: u32) -> Result<(), (io::Error, bool)> {
    let socket = UdpSocket::bind((LOOPBACK, 0))
        .await
        .map_err(|e| (e, false))?;
    socket
        .set_multicast_if_v4(LOOPBACK)
        .map_err(|e| (e, true))?;
    socket.set_multicast_loop_v4(true).map_err(|e| (e, true))?;
    let from = socket.local_addr().map_err(|e| (e, false))?;
    for seq in 1..=count {
        let text = format!("hello #{seq}");
        socket
            .send_to(text.as_bytes(), group)
            .await
            .map_err(|e| (e, seq == 1))?;
        println!("sent   {text:?} from {from}");
    }
    Ok(())
}

/// Receives `count` datagrams and prints each; false if one did not come.
async fn receive(name: &'static str, socket: UdpSocket, count: u32) -> bool {
    let mut buf = [0; 1500];
    for _ in 0..count {
        match timeout(PATIENCE, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                println!("{name} got  {text:?} from {from}");
            }
            Ok(Err(e)) => {
                eprintln!("multicast: receiver {name}: {e}");
                return false;
            }
            Err(_) => {
                eprintln!(
                    "multicast: receiver {name} got nothing for {PATIENCE:?}; is a firewall \
                     dropping multicast on loopback?"
                );
                return false;
            }
        }
    }
    true
}
