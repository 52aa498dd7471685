//! Memory per idle connection: the server's RSS before and after the harness opens
//! `n` connections to it that never send a byte, over `n`. Connects in batches and waits
//! until the server holds them (its open descriptors), so the server has accepted and
//! parked every one when RSS is read.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::proc_stat;

/// Connections opened before waiting for the server to accept them: fewer than the
/// listen backlog (std's 128), else the kernel drops SYNs and a connect waits a 1 s retry.
const BATCH: usize = 100;
/// How long one connect may take (a dropped SYN would otherwise retry for minutes).
const CONNECT: Duration = Duration::from_secs(5);
/// Time for the server to settle (accept the last, park every task).
const SETTLE: Duration = Duration::from_millis(300);

/// Raises the soft descriptor limit to the hard one; `Err` says why `n` idle connections
/// (one descriptor each in the harness and in the server) do not fit.
pub fn raise_fd_limit(n: usize) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to write.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    let needed = n as u64 + 256;
    if limit.rlim_max < needed {
        return Err(format!(
            "the hard descriptor limit is {}, {needed} are needed for {n} connections",
            limit.rlim_max
        ));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit to read.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// Bytes of server RSS per idle connection, with `n` of them open.
pub fn bytes_per_connection(pid: u32, addr: SocketAddr, n: usize) -> io::Result<f64> {
    thread::sleep(SETTLE);
    let fds_before = proc_stat::open_fds(pid)?;
    let rss_before = proc_stat::rss(pid)?;
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        for _ in 0..BATCH.min(n - conns.len()) {
            conns.push(TcpStream::connect_timeout(&addr, CONNECT)?);
        }
        wait_for_fds(pid, fds_before + conns.len())?;
    }
    thread::sleep(SETTLE);
    let rss_after = proc_stat::rss(pid)?;
    drop(conns);
    Ok((rss_after as f64 - rss_before as f64) / n as f64)
}

/// Waits until process `pid` holds `fds` descriptors, at most 10 s.
fn wait_for_fds(pid: u32, fds: usize) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_stat::open_fds(pid)? < fds {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the server did not accept {fds} connections within 10 s"),
            ));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
