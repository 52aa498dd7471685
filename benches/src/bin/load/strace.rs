//! System calls per request: `strace -c -f -p PID` attached to the server (all its
//! threads) while a client completes a fixed number of requests; the summary's total
//! calls (failed ones, such as a read that returns `EAGAIN`, included) over the requests.
//! What the server does between attach and the first request (accepting the client's
//! connections) counts too, so a run sends enough requests to make that small.

use std::io;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::child::Guard;

/// Calls the server made while `drive` ran; `drive` returns the requests it completed.
pub fn calls_per_request(pid: u32, drive: impl FnOnce() -> io::Result<u64>) -> io::Result<f64> {
    let file = std::env::temp_dir().join(format!("load-strace-{}-{pid}.txt", std::process::id()));
    let mut cmd = Command::new("strace");
    cmd.args(["-c", "-f", "-q", "-o"])
        .arg(&file)
        .args(["-p", &pid.to_string()]);
    cmd.stderr(Stdio::null());
    let mut strace = Guard::spawn(cmd, "strace")?;
    // strace prints nothing once attached (-q); its attach takes a few ms per thread.
    thread::sleep(Duration::from_millis(400));
    let requests = drive();
    strace.signal(libc::SIGINT);
    let status = strace.wait(Duration::from_secs(10));
    let summary = std::fs::read_to_string(&file);
    let _ = std::fs::remove_file(&file);
    let requests = requests?;
    status?;
    let calls = total_calls(&summary?)
        .ok_or_else(|| io::Error::other("no total line in strace's summary"))?;
    Ok(calls as f64 / requests.max(1) as f64)
}

/// The `calls` column of the summary's `total` line.
fn total_calls(summary: &str) -> Option<u64> {
    let line = summary.lines().find(|l| l.trim_end().ends_with("total"))?;
    // "100.00  0.001  1  1234  12  total": % time, seconds, usecs/call, calls[, errors].
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_total_calls() {
        let summary = "% time     seconds  usecs/call     calls    errors syscall\n\
            ------ ----------- ----------- --------- --------- ----------------\n\
            \x2060.00    0.000300           1       300       100 read\n\
            ------ ----------- ----------- --------- --------- ----------------\n\
            100.00    0.000500           1       400       100 total\n";
        assert_eq!(super::total_calls(summary), Some(400));
    }
}
