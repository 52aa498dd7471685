//! Runs `wrk --latency` against a server and parses what it prints.

use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::child;

/// What one wrk run measured.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub requests: u64,
    pub per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `wrk -t1 -cCONNS -dSECS --latency`: one thread, as the echo client has.
pub fn run(addr: SocketAddr, conns: usize, secs: u64) -> io::Result<Run> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--latency",
    ])
    .arg(format!("http://{addr}/"));
    let (_, out) = child::output(cmd, "wrk", Duration::from_secs(secs + 15))?;
    parse(&out).ok_or_else(|| io::Error::other(format!("cannot parse wrk's output:\n{out}")))
}

fn parse(out: &str) -> Option<Run> {
    for bad in ["Socket errors", "Non-2xx"] {
        if let Some(line) = out.lines().find(|l| l.contains(bad)) {
            eprintln!("load: wrk: {}", line.trim());
        }
    }
    let requests = out
        .lines()
        .find(|l| l.contains("requests in"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let per_sec = field(out, "Requests/sec:")?.parse().ok()?;
    let p50 = duration(field(out, "50%")?)?;
    let p99 = duration(field(out, "99%")?)?;
    Some(Run {
        requests,
        per_sec,
        p50,
        p99,
    })
}

/// The word after `label` at the start of a line.
fn field<'a>(out: &'a str, label: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
}

/// wrk's `123.45us`, `1.20ms`, `2.00s`, `1.00m`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let secs = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_latency_output() {
        let out = "Running 2s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n\
            \x20 Latency Distribution\n     50%  512.00us\n     75%  1.00ms\n     90%    1.5ms\n     99%    3.20ms\n\
            \x20 100 requests in 2.00s, 10.00KB read\nRequests/sec:  50.00\nTransfer/sec: 5.00KB\n";
        let run = super::parse(out).unwrap();
        assert_eq!(run.requests, 100);
        assert_eq!(run.p50.as_micros(), 512);
        assert_eq!(run.p99.as_micros(), 3200);
    }
}
