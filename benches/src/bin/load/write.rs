//! `--write`: the load section of `benches/RESULTS.md` (between its `load:begin` and
//! `load:end` markers, so the hand-kept criterion section survives; the whole file when it
//! has none) and the chart `benches/results.svg`.

use std::io;
use std::path::Path;

use crate::report::Metric;
use crate::run::Config;
use crate::svg;

const BEGIN: &str =
    "<!-- load:begin (written by `cargo run -p benches --release --bin load -- --write`) -->";
const END: &str = "<!-- load:end -->";
/// The workspace lock file, for the versions of what we compare with.
const LOCK: &str = include_str!("../../../../Cargo.lock");

pub fn files(cfg: &Config, args: &[String], tables: &str, metrics: &[Metric]) -> io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let section = format!("{BEGIN}\n\n{}\n\n{tables}\n{END}", machine(args, cfg));
    let path = dir.join("RESULTS.md");
    let text = match std::fs::read_to_string(&path) {
        Ok(old) => match (old.find(BEGIN), old.find(END)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{section}{}", &old[..b], &old[e + END.len()..])
            }
            _ => format!("{old}\n{section}\n"),
        },
        Err(_) => format!("# Benchmark results\n\n{section}\n"),
    };
    std::fs::write(&path, text)?;
    let title = format!(
        "load harness: ratio to tokio multi-thread ({} worker threads)",
        cfg.threads
    );
    std::fs::write(dir.join("results.svg"), svg::chart(metrics, &title))?;
    eprintln!("load: wrote {} and results.svg", path.display());
    Ok(())
}

/// The machine, versions and command line of this run.
fn machine(args: &[String], cfg: &Config) -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = read("/proc/sys/kernel/osrelease");
    let load = read("/proc/loadavg");
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let rustc = command_line("rustc", "-V");
    let wrk = command_line("wrk", "-v");
    format!(
        "Load harness: `cargo run -p benches --release --bin load -- {}`\n\n\
         - machine: {cpu}, {cores} cores, Linux {}, load average at the end {}\n\
         - {rustc}; tokio {}, smol {}; {wrk}\n\
         - {} -mt workers; echo: 64-byte messages, the harness's epoll client; http: `wrk -t1 -c{} --latency`",
        args.join(" "),
        kernel.trim(),
        load.join(" "),
        locked("tokio"),
        locked("smol"),
        cfg.threads,
        cfg.conns,
    )
}

/// The version of `name` in the lock file.
fn locked(name: &str) -> &'static str {
    let entry = format!("name = \"{name}\"\nversion = \"");
    LOCK.find(&entry)
        .and_then(|at| LOCK[at + entry.len()..].split('"').next())
        .unwrap_or("?")
}

fn command_line(cmd: &str, arg: &str) -> String {
    let out = std::process::Command::new(cmd).arg(arg).output();
    let text = out
        .map(|o| [o.stdout, o.stderr].concat())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let first = text.lines().next().unwrap_or(cmd);
    // wrk's line goes on with its copyright.
    first
        .split(" Copyright")
        .next()
        .unwrap_or(first)
        .trim()
        .to_owned()
}
