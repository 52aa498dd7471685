//! Descriptor accounting read from Linux's `/proc`, for the hostile descriptor tests: the
//! descriptors this process would hand to a child (no `FD_CLOEXEC`), and the descriptor
//! table of a helper process started now, by `posix_spawn` or by a real `fork` + `exec`.
//! Resident memory and the descriptor limit are in [`crate::process`].

use std::collections::BTreeMap;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// A descriptor table: descriptor number to what `/proc/<pid>/fd/<fd>` links to.
pub type FdTable = BTreeMap<RawFd, String>;

/// The descriptors of this process that a child would inherit (`FD_CLOEXEC` clear), with
/// their targets: those it was started with (a shell's or CI's), not ones it made.
pub fn inheritable_fds() -> FdTable {
    let mut table = FdTable::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("list /proc/self/fd") {
        let Some(fd) = entry
            .ok()
            .and_then(|e| e.file_name().to_str()?.parse().ok())
        else {
            continue;
        };
        // SAFETY: F_GETFD takes no pointer; on a closed descriptor (the listing's own, gone
        // by now) it fails with EBADF, which is skipped.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || flags & libc::FD_CLOEXEC != 0 {
            continue;
        }
        if let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            table.insert(fd, target.to_string_lossy().into_owned());
        }
    }
    table
}

/// How a helper process is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// `std::process::Command` as it is: `posix_spawn` where the C library has it.
    Spawn,
    /// With a (no-op) `pre_exec` hook, which makes std `fork` and then `exec`.
    ForkExec,
}

/// The descriptor table of `ls -l /proc/self/fd` started now (stdin and stderr
/// `/dev/null`, stdout a pipe), without the directory `ls` opens to list itself (the
/// entry linking to `/proc/<its pid>/fd`).
///
/// # Errors
///
/// The error from starting or waiting for `ls`, or `Other` if it failed.
pub fn helper_fd_table(start: Start) -> io::Result<FdTable> {
    let mut command = Command::new("ls");
    command
        .args(["-l", "/proc/self/fd"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if start == Start::ForkExec {
        // SAFETY: the hook does nothing, so it is async-signal-safe between fork and exec.
        unsafe { command.pre_exec(|| Ok(())) };
    }
    let child = command.spawn()?;
    let own_dir = format!("/proc/{}/fd", child.id());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ls -l /proc/self/fd: {}",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (left, target) = line.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?.parse().ok()?;
            Some((fd, target.to_owned()))
        })
        .filter(|(_, target)| *target != own_dir)
        .collect())
}
