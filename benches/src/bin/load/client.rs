//! `load --client ADDR WORKLOAD CONNS MODE`: the harness's own load generator, one
//! process, one thread, edge-triggered epoll. Each connection keeps one request in flight
//! (the workload's request; the answer is a known number of bytes) and sends the next as
//! soon as the answer is complete, or `pace` later when paced.
//!
//! Modes: `timed WARMUP_MS MEASURE_MS` runs a warm-up, prints `start`, measures, prints
//! `done REQUESTS ELAPSED_NS P50_NS P99_NS`; `count N PACE_US` prints `start` once
//! connected, completes exactly N requests (the last sends stop at N) and prints `done`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::workload::Workload;

/// A connection that gets no answer for this long means the server is stuck.
const STALL: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Timed { warmup: Duration, measure: Duration },
    Count { requests: u64, pace: Duration },
}

struct Conn {
    stream: TcpStream,
    sent_at: Instant,
    got: usize,
    /// When a paced connection sends next; `None` while a request is in flight.
    due: Option<Instant>,
}

pub fn run(addr: SocketAddr, workload: Workload, conns: usize, mode: Mode) -> io::Result<()> {
    crate::child::die_with_parent();
    let (request, answer) = workload.request();
    // SAFETY: epoll_create1 takes flags only; the fd is owned at once.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: epfd was just returned to us.
    let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
    let mut conns = connect(addr, conns, &epoll)?;
    let mut out = io::stdout().lock();
    let (mut measuring, phase_end, limit) = match mode {
        Mode::Timed { warmup, .. } => (false, Some(Instant::now() + warmup), u64::MAX),
        Mode::Count { requests, .. } => {
            writeln!(out, "start")?;
            out.flush()?;
            (true, None, requests)
        }
    };
    let pace = match mode {
        Mode::Count { pace, .. } if !pace.is_zero() => Some(pace),
        _ => None,
    };
    let mut phase_end = phase_end;
    let (mut sent, mut done) = (0u64, 0u64);
    let mut latencies: Vec<u64> = Vec::with_capacity(1 << 20);
    let mut start = Instant::now();
    for conn in &mut conns {
        if sent < limit {
            send(conn, request)?;
            sent += 1;
        }
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; conns.len().max(1)];
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_progress = Instant::now();
    while done < limit {
        let now = Instant::now();
        if let Some(end) = phase_end.filter(|end| now >= *end) {
            if measuring {
                break;
            }
            let Mode::Timed { measure, .. } = mode else {
                unreachable!()
            };
            measuring = true;
            (done, start, phase_end) = (0, now, Some(end + measure));
            latencies.clear();
            writeln!(out, "start")?;
            out.flush()?;
        }
        let timeout = next_wake(&conns, phase_end, now);
        // SAFETY: `events` is valid for its length, which we pass.
        let n = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                timeout,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let now = Instant::now();
        for event in &events[..n as usize] {
            let conn = &mut conns[event.u64 as usize];
            let complete = receive(conn, answer, &mut buf)?;
            if !complete {
                continue;
            }
            latencies.push((now - conn.sent_at).as_nanos() as u64);
            done += 1;
            last_progress = now;
            match pace {
                Some(pace) => conn.due = Some(now + pace),
                None if sent < limit => {
                    send(conn, request)?;
                    sent += 1;
                }
                None => {}
            }
        }
        for conn in conns.iter_mut() {
            if conn.due.is_some_and(|due| due <= now) && sent < limit {
                conn.due = None;
                send(conn, request)?;
                sent += 1;
            }
        }
        if now - last_progress > STALL + pace.unwrap_or_default() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer for 5 s"));
        }
    }
    let elapsed = start.elapsed();
    let (p50, p99) = percentiles(&mut latencies);
    writeln!(out, "done {done} {} {p50} {p99}", elapsed.as_nanos())?;
    out.flush()
}

fn connect(addr: SocketAddr, n: usize, epoll: &OwnedFd) -> io::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: i as u64,
        };
        let fd = stream.as_raw_fd();
        // SAFETY: `event` is a valid epoll_event for the call's duration.
        let ret =
            unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        let now = Instant::now();
        conns.push(Conn {
            stream,
            sent_at: now,
            got: 0,
            due: None,
        });
    }
    Ok(conns)
}

fn send(conn: &mut Conn, request: &[u8]) -> io::Result<()> {
    conn.sent_at = Instant::now();
    conn.got = 0;
    // One request in flight: the send buffer is empty, a small request fits whole.
    let n = conn.stream.write(request)?;
    if n != request.len() {
        return Err(io::Error::other("short write of a request"));
    }
    Ok(())
}

/// Reads until `EAGAIN`; `true` once the answer is complete.
fn receive(conn: &mut Conn, answer: usize, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        match conn.stream.read(buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed",
                ));
            }
            Ok(n) => conn.got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if conn.got > answer {
        return Err(io::Error::other("more bytes than one answer"));
    }
    Ok(conn.got == answer)
}

/// epoll_wait's timeout in ms: to the next paced send or phase end, at most 100 ms.
fn next_wake(conns: &[Conn], phase_end: Option<Instant>, now: Instant) -> i32 {
    let next = conns.iter().filter_map(|c| c.due).chain(phase_end).min();
    match next {
        Some(at) => at
            .saturating_duration_since(now)
            .as_micros()
            .div_ceil(1000)
            .min(100) as i32,
        None => 100,
    }
}

/// p50 and p99 of `latencies` (ns), 0 when empty.
fn percentiles(latencies: &mut [u64]) -> (u64, u64) {
    if latencies.is_empty() {
        return (0, 0);
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}
