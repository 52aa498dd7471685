//! The harness's plan: every measurement of one invocation, interleaved so that a slow
//! minute on a shared machine hits every column alike. Load runs go
//! `for rep { for workload { for column } }` (a fresh server process each), then the
//! strace runs, then the idle-connection runs. A failed cell is reported and left empty.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::child::{self, Guard};
use crate::client::Mode;
use crate::workload::{Column, Workload};
use crate::{idle, proc_stat, strace, tool, wrk};

/// What one invocation measures, and how long.
#[derive(Clone, Debug)]
pub struct Config {
    pub columns: Vec<Column>,
    pub threads: usize,
    pub reps: usize,
    pub warmup_secs: u64,
    pub secs: u64,
    /// Connections of the load runs (wrk's and the echo client's).
    pub conns: usize,
    /// Requests of the saturated strace run (over `conns` connections).
    pub strace_saturated: u64,
    /// Requests of the idle-paced strace run (one connection, `pace` apart).
    pub strace_paced: u64,
    pub pace: Duration,
    pub idle_conns: usize,
}

/// One load run's figures.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Server CPU time (all threads) per request over the measured window.
    pub cpu: Duration,
}

/// Everything one invocation measured.
#[derive(Debug, Default)]
pub struct Results {
    pub load: HashMap<(Column, Workload), Vec<Sample>>,
    /// Syscalls per request: (saturated, idle-paced).
    pub syscalls: HashMap<(Column, Workload), (f64, f64)>,
    /// Server RSS bytes per idle connection (echo servers).
    pub idle: HashMap<Column, f64>,
    /// Metrics skipped, and why.
    pub skipped: Vec<String>,
}

pub fn run(cfg: &Config) -> Results {
    let mut results = Results::default();
    let wrk = tool::ensure("wrk");
    if let Err(why) = &wrk {
        results.skipped.push(format!("http load: {why}"));
    }
    let workloads: Vec<Workload> = match wrk {
        Ok(()) => Workload::ALL.to_vec(),
        Err(_) => vec![Workload::Echo],
    };
    for rep in 0..cfg.reps {
        for &workload in &workloads {
            for &column in &cfg.columns {
                progress(format_args!(
                    "rep {}/{}: {workload} on {column}",
                    rep + 1,
                    cfg.reps
                ));
                match measure(cfg, column, workload) {
                    Ok(s) => results.load.entry((column, workload)).or_default().push(s),
                    Err(e) => eprintln!("load:   {column} {workload} failed: {e}"),
                }
            }
        }
    }
    match tool::ensure("strace") {
        Ok(()) => syscall_runs(cfg, &mut results),
        Err(why) => results.skipped.push(format!("syscalls per request: {why}")),
    }
    match idle::raise_fd_limit(cfg.idle_conns) {
        Ok(()) => idle_runs(cfg, &mut results),
        Err(why) => results
            .skipped
            .push(format!("RSS per idle connection: {why}")),
    }
    results
}

/// A progress line on stderr, with the seconds since the first.
fn progress(what: std::fmt::Arguments<'_>) {
    static START: OnceLock<Instant> = OnceLock::new();
    let secs = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("load: [{secs:5.1} s] {what}");
}

fn syscall_runs(cfg: &Config, results: &mut Results) {
    for workload in Workload::ALL {
        for &column in &cfg.columns {
            progress(format_args!("strace: {workload} on {column}"));
            match syscalls(cfg, column, workload) {
                Ok(calls) => drop(results.syscalls.insert((column, workload), calls)),
                Err(e) => eprintln!("load:   strace {column} {workload} failed: {e}"),
            }
        }
    }
}

fn idle_runs(cfg: &Config, results: &mut Results) {
    for &column in &cfg.columns {
        progress(format_args!(
            "{} idle connections on {column}",
            cfg.idle_conns
        ));
        let bytes = start_server(cfg, column, Workload::Echo).and_then(|(server, addr)| {
            idle::bytes_per_connection(server.pid(), addr, cfg.idle_conns)
        });
        match bytes {
            Ok(bytes) => drop(results.idle.insert(column, bytes)),
            Err(e) => eprintln!("load:   idle {column} failed: {e}"),
        }
    }
}

/// A fresh server for `column` and `workload`, listening.
fn start_server(
    cfg: &Config,
    column: Column,
    workload: Workload,
) -> io::Result<(Guard, SocketAddr)> {
    let threads = cfg.threads.to_string();
    let cmd = child::this_binary(["--serve", column.name(), workload.name(), &threads])?;
    let mut server = Guard::spawn(cmd, format!("{column} {workload} server"))?;
    let line = server.next_line(Duration::from_secs(10))?;
    let port = line
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| io::Error::other(format!("server said {line:?}, not its port")))?;
    Ok((server, SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
}

/// One load run: warm-up, then the measured window, the server's CPU read at both ends.
fn measure(cfg: &Config, column: Column, workload: Workload) -> io::Result<Sample> {
    let (server, addr) = start_server(cfg, column, workload)?;
    let pid = server.pid();
    match workload {
        Workload::Http => {
            wrk::run(addr, cfg.conns, cfg.warmup_secs)?;
            let before = proc_stat::cpu_time(pid)?;
            let run = wrk::run(addr, cfg.conns, cfg.secs)?;
            let cpu = proc_stat::cpu_time(pid)? - before;
            Ok(Sample {
                per_sec: run.per_sec,
                p50: run.p50,
                p99: run.p99,
                cpu: cpu / run.requests.max(1) as u32,
            })
        }
        Workload::Echo => {
            let mode = Mode::Timed {
                warmup: Duration::from_secs(cfg.warmup_secs),
                measure: Duration::from_secs(cfg.secs),
            };
            let mut client = start_client(addr, workload, cfg.conns, mode)?;
            client.next_line(Duration::from_secs(cfg.warmup_secs + 10))?;
            let before = proc_stat::cpu_time(pid)?;
            let done = client.next_line(Duration::from_secs(cfg.secs + 10))?;
            let cpu = proc_stat::cpu_time(pid)? - before;
            let [requests, elapsed, p50, p99] = parse_done(&done)?;
            Ok(Sample {
                per_sec: requests as f64 / Duration::from_nanos(elapsed).as_secs_f64(),
                p50: Duration::from_nanos(p50),
                p99: Duration::from_nanos(p99),
                cpu: cpu / requests.max(1) as u32,
            })
        }
    }
}

/// Syscalls per request, saturated (`conns` connections) and idle-paced (one).
fn syscalls(cfg: &Config, column: Column, workload: Workload) -> io::Result<(f64, f64)> {
    let (server, addr) = start_server(cfg, column, workload)?;
    let count = |conns: usize, requests: u64, pace: Duration| {
        move || {
            let mode = Mode::Count { requests, pace };
            let mut client = start_client(addr, workload, conns, mode)?;
            client.next_line(Duration::from_secs(10))?;
            let limit = Duration::from_secs(30) + pace * requests as u32;
            let [done, ..] = parse_done(&client.next_line(limit)?)?;
            Ok(done)
        }
    };
    let saturated = count(cfg.conns, cfg.strace_saturated, Duration::ZERO);
    let saturated = strace::calls_per_request(server.pid(), saturated)?;
    let paced = count(1, cfg.strace_paced, cfg.pace);
    let paced = strace::calls_per_request(server.pid(), paced)?;
    Ok((saturated, paced))
}

fn start_client(
    addr: SocketAddr,
    workload: Workload,
    conns: usize,
    mode: Mode,
) -> io::Result<Guard> {
    let mode_args = match mode {
        Mode::Timed { warmup, measure } => [
            "timed".into(),
            warmup.as_millis().to_string(),
            measure.as_millis().to_string(),
        ],
        Mode::Count { requests, pace } => [
            "count".into(),
            requests.to_string(),
            pace.as_micros().to_string(),
        ],
    };
    let mut args = vec![
        "--client".to_owned(),
        addr.to_string(),
        workload.name().into(),
    ];
    args.push(conns.to_string());
    args.extend(mode_args);
    Guard::spawn(child::this_binary(args)?, format!("{workload} client"))
}

/// The client's `done REQUESTS ELAPSED_NS P50_NS P99_NS`.
fn parse_done(line: &str) -> io::Result<[u64; 4]> {
    let bad = || io::Error::other(format!("client said {line:?}"));
    let mut words = line.strip_prefix("done ").ok_or_else(bad)?.split(' ');
    let mut field = || words.next().and_then(|w| w.parse().ok()).ok_or_else(bad);
    Ok([field()?, field()?, field()?, field()?])
}
