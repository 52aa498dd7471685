//! The load harness: servers on ours (both flavors), tokio (both) and smol
//! (`LocalExecutor`, and `Executor` on the same thread count), and a hand-written
//! edge-triggered epoll server as the limit, each in a child process; a TCP echo and a
//! keep-alive HTTP/1.1 workload driven from another process (the harness's own epoll
//! client, wrk); the columns interleaved and repeated, so every ratio comes from one
//! invocation. See `--help`.
//!
//! The same binary is the server (`--serve`) and the echo client (`--client`): the
//! harness re-executes itself for each. Its parsers' unit tests run with
//! `cargo test -p benches --bin load` (`cargo test --workspace` skips the binary).

mod child;
mod client;
mod handler;
mod idle;
mod proc_stat;
mod report;
mod run;
mod server;
mod servers;
mod strace;
mod svg;
mod targets;
mod tool;
mod workload;
mod write;
mod wrk;

use std::process::ExitCode;
use std::time::Duration;

use run::Config;
use workload::{Column, Workload};

const USAGE: &str = "\
usage: load [--quick] [--write] [--threads N] [--reps N] [--secs N] [--warmup N]
            [--conns N] [--idle N] [--columns a,b,..]

  runs every column (runtime, runtime-mt, tokio, tokio-mt, smol, smol-mt, epoll) on the
  echo and http workloads; prints progress on stderr and the markdown tables on stdout
    --quick       3 reps of 1 s (after 1 s warm-up), short strace runs: under 3 minutes
                  (default: 3 reps of 8 s after 2 s, under 20 minutes on 2 cores)
    --write       also write benches/RESULTS.md (its load section) and benches/results.svg
    --threads N   workers of the -mt columns (default 2)
    --reps N      repetitions, median reported; --secs/--warmup: seconds per run
    --conns N     connections of the load runs (default 64)
    --idle N      idle connections for RSS per connection (default 10000)
    --columns     a subset, comma-separated (ratios need tokio-mt)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--serve") => serve(&args[1..]),
        Some("--client") => client(&args[1..]),
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => harness(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("load: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn harness(args: &[String]) -> Result<(), String> {
    let (cfg, write) = parse(args).map_err(|e| format!("{e}\n{USAGE}"))?;
    let started = std::time::Instant::now();
    let results = run::run(&cfg);
    let metrics = report::metrics(&cfg, &results);
    let mut tables = report::markdown(&cfg, &results, &metrics);
    tables.push('\n');
    tables.push_str(&targets::markdown(&metrics));
    eprintln!("load: done in {:.0} s", started.elapsed().as_secs_f64());
    println!("{tables}");
    if write {
        write::files(&cfg, args, &tables, &metrics).map_err(|e| format!("writing results: {e}"))?;
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<(Config, bool), String> {
    let mut cfg = Config {
        columns: Column::ALL.to_vec(),
        threads: 2,
        reps: 3,
        warmup_secs: 2,
        secs: 8,
        conns: 64,
        strace_saturated: 20_000,
        strace_paced: 1_000,
        pace: Duration::from_millis(1),
        idle_conns: 10_000,
    };
    let mut write = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let mut number = || -> Result<u64, String> {
            let v = value()?;
            v.parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("{arg} takes a positive number, not {v:?}"))
        };
        match arg.as_str() {
            "--quick" => {
                (cfg.reps, cfg.warmup_secs, cfg.secs) = (3, 1, 1);
                (cfg.strace_saturated, cfg.strace_paced) = (5_000, 200);
            }
            "--write" => write = true,
            "--threads" => cfg.threads = number()? as usize,
            "--reps" => cfg.reps = number()? as usize,
            "--secs" => cfg.secs = number()?,
            "--warmup" => cfg.warmup_secs = number()?,
            "--conns" => cfg.conns = number()? as usize,
            "--idle" => cfg.idle_conns = number()? as usize,
            "--columns" => {
                let list = value()?;
                let columns = list
                    .split(',')
                    .map(|c| Column::parse(c).ok_or(format!("no column {c:?}")));
                cfg.columns = columns.collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok((cfg, write))
}

/// `--serve COLUMN WORKLOAD THREADS`.
fn serve(args: &[String]) -> Result<(), String> {
    let [column, workload, threads] = args else {
        return Err("--serve takes COLUMN WORKLOAD THREADS".into());
    };
    let column = Column::parse(column).ok_or(format!("no column {column:?}"))?;
    let workload = Workload::parse(workload).ok_or(format!("no workload {workload:?}"))?;
    let threads = threads
        .parse()
        .map_err(|_| format!("bad thread count {threads:?}"))?;
    server::run(column, workload, threads).map_err(|e| format!("{column} server: {e}"))
}

/// `--client ADDR WORKLOAD CONNS (timed WARMUP_MS MEASURE_MS | count N PACE_US)`.
fn client(args: &[String]) -> Result<(), String> {
    let bad =
        || "--client takes ADDR WORKLOAD CONNS (timed WARMUP_MS MS | count N PACE_US)".to_owned();
    let [addr, workload, conns, mode, a, b] = args else {
        return Err(bad());
    };
    let addr = addr.parse().map_err(|_| bad())?;
    let workload = Workload::parse(workload).ok_or_else(bad)?;
    let conns = conns.parse().map_err(|_| bad())?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    let mode = match mode.as_str() {
        "timed" => client::Mode::Timed {
            warmup: Duration::from_millis(a),
            measure: Duration::from_millis(b),
        },
        "count" => client::Mode::Count {
            requests: a,
            pace: Duration::from_micros(b),
        },
        _ => return Err(bad()),
    };
    client::run(addr, workload, conns, mode).map_err(|e| format!("{workload} client: {e}"))
}
