//! Child processes that cannot outlive the harness: a [`Guard`] kills and reaps its child
//! on every exit path (Drop), every wait has a deadline, and a child of our own binary
//! asks the kernel to kill it if the harness dies ([`die_with_parent`]).

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// A running child, killed and reaped on drop; its stdout lines arrive on a channel.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    what: String,
    lines: Option<Receiver<String>>,
}

impl Guard {
    /// Starts `cmd` with its stdout piped to [`next_line`](Guard::next_line).
    pub fn spawn(mut cmd: Command, what: impl Into<String>) -> io::Result<Guard> {
        let what = what.into();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("start {what}: {e}")))?;
        let lines = child.stdout.take().map(forward_lines);
        Ok(Guard { child, what, lines })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's next stdout line, waiting at most `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> io::Result<String> {
        let lines = self.lines.as_ref().expect("stdout is piped");
        lines.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{}: no output within {timeout:?}", self.what),
            ),
            mpsc::RecvTimeoutError::Disconnected => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: exited early", self.what),
            ),
        })
    }

    /// Waits for the child to exit by itself, at most `timeout` (then kills it).
    pub fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: still running after {timeout:?}, killed", self.what),
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `signal` (e.g. SIGINT, so strace prints its summary).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill takes no memory; the pid is our unreaped child, so it is not reused.
        unsafe { libc::kill(pid, signal) };
    }

    fn kill(&mut self) {
        // Already exited is fine: the point is that it is gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads `out` line by line on a thread of its own, so a reader can time out.
fn forward_lines(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Runs `cmd` to completion with a deadline; returns its status and stdout.
pub fn output(mut cmd: Command, what: &str, timeout: Duration) -> io::Result<(ExitStatus, String)> {
    cmd.stderr(Stdio::piped());
    let mut guard = Guard::spawn(cmd, what)?;
    let status = guard.wait(timeout)?;
    let mut out = String::new();
    while let Ok(line) = guard.next_line(Duration::from_secs(1)) {
        out.push_str(&line);
        out.push('\n');
    }
    if !status.success() {
        let mut err = String::new();
        if let Some(mut stderr) = guard.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        return Err(io::Error::other(format!(
            "{what}: {status}: {}",
            err.trim()
        )));
    }
    Ok((status, out))
}

/// In a child of the harness: be killed when the harness dies, however it dies.
pub fn die_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number, no memory.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
}

/// A command running this same binary with `args` (a server or client mode).
pub fn this_binary<I, S>(args: I) -> io::Result<Command>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(args);
    Ok(cmd)
}
