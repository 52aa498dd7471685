//! This process's resources as the kernel reports them: the descriptor limit
//! (`RLIMIT_NOFILE`, to lower or raise the soft limit in a child or server test) and the
//! resident memory (`VmRSS` in `/proc/self/status`). Descriptor, thread and CPU counts are
//! in [`crate::rt`].

use std::io;

/// `(soft, hard)` `RLIMIT_NOFILE` of this process.
#[allow(
    clippy::unnecessary_cast,
    reason = "rlim_t is u64 on Linux, but not on every platform"
)]
pub fn fd_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is valid for one write.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    (limit.rlim_cur as u64, limit.rlim_max as u64)
}

/// Sets the soft `RLIMIT_NOFILE` to `soft`, keeping the hard limit.
///
/// # Panics
///
/// If `soft` is above the hard limit or `setrlimit` fails.
pub fn set_fd_soft_limit(soft: u64) {
    let (_, hard) = fd_limit();
    assert!(
        soft <= hard,
        "a soft descriptor limit of {soft} is above the hard {hard}"
    );
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `limit` is a valid rlimit for the call to read.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit({soft}): {}", io::Error::last_os_error());
}

/// Resident memory of this process in bytes (Linux: `VmRSS` in `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("a `VmRSS: <n> kB` line in /proc/self/status");
    kib * 1024
}
