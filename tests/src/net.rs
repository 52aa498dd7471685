//! Socket test helpers: deterministic payloads, a hang guard, temporary directories for
//! Unix socket paths, descriptor flags and socket options read straight from the kernel
//! (`fcntl`, `getsockopt` on the raw fd, never through the code under test), the
//! descriptor table a child process inherits, and re-running this test binary as a child.

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// `len` pseudo-random bytes from `seed` (xorshift64*): distinct per seed, the same on
/// every run, so a mismatch names the offset that went wrong.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Asserts `got == want` byte for byte, reporting the first differing offset rather than
/// dumping two large buffers.
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: first difference at byte {i} (got {:#04x}, want {:#04x})",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: length differs");
}

/// Awaits `fut`, panicking with `what` if it takes longer than `limit`: a hang guard so a
/// broken test fails instead of blocking the suite. Not a speed assertion: limits are
/// generous by orders of magnitude.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match runtime::time::timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: still not done after {limit:?}"),
    }
}

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
/// Short, so socket paths built in it stay well under `sun_path`.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a directory whose name holds `tag`, the process id and a counter.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).expect("create a temporary directory");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// The names of the entries in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .expect("read the temporary directory")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Reads an `int` socket option with `getsockopt` on the raw descriptor.
pub fn sockopt_int(fd: &impl AsFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` is valid for `len` bytes of writes and `len` for one write; the fd is
    // borrowed live for the call.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    assert_eq!(
        rc,
        0,
        "getsockopt({level}, {name}): {}",
        std::io::Error::last_os_error()
    );
    value
}

/// `(SO_REUSEADDR, SO_REUSEPORT)` as the kernel reports them for `fd`.
pub fn reuse_options(fd: &impl AsFd) -> (bool, bool) {
    (
        sockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR) != 0,
        sockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT) != 0,
    )
}

/// `(FD_CLOEXEC set, O_NONBLOCK set)` as the kernel reports them for `fd`.
pub fn cloexec_nonblock(fd: &impl AsFd) -> (bool, bool) {
    let raw = fd.as_fd().as_raw_fd();
    // SAFETY: F_GETFD and F_GETFL take no pointer; the fd is borrowed live for the call.
    let (fd_flags, fl_flags) = unsafe {
        (
            libc::fcntl(raw, libc::F_GETFD),
            libc::fcntl(raw, libc::F_GETFL),
        )
    };
    assert!(fd_flags >= 0 && fl_flags >= 0, "fcntl({raw}) failed");
    (
        fd_flags & libc::FD_CLOEXEC != 0,
        fl_flags & libc::O_NONBLOCK != 0,
    )
}

/// What `/proc/self/fd/<fd>` of this process points at (`socket:[inode]` for a socket).
pub fn fd_target(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .unwrap_or_else(|e| panic!("readlink /proc/self/fd/{fd}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// The descriptor table of a child process started now: `(fd, link target)` for every
/// descriptor `ls` sees in its own `/proc/self/fd`. Descriptors this process holds without
/// close-on-exec show up with the same number and target; the directory `ls` opens shows
/// up too, but with a target of its own.
pub fn child_fd_table() -> Vec<(RawFd, String)> {
    let out = Command::new("ls")
        .args(["-l", "/proc/self/fd"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run ls -l /proc/self/fd");
    assert!(out.status.success(), "ls -l /proc/self/fd: {}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (left, target) = line.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?.parse().ok()?;
            Some((fd, target.to_owned()))
        })
        .collect()
}

/// A TCP port on 127.0.0.1 that refuses connections for as long as the returned socket
/// lives: bound but never listening, so no other socket can take the port meanwhile.
pub fn refused_addr() -> (::net::TcpSocket, SocketAddr) {
    let socket = ::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind("127.0.0.1:0".parse().expect("a literal address"))
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("the bound address");
    (socket, addr)
}

/// The `key=value` fields of a child's report line (`accepted=140 cpu_us=2300`), each
/// value a number.
///
/// # Panics
///
/// On a field that is not `key=<u64>`.
pub fn report_fields(line: &str) -> impl Iterator<Item = (&str, u64)> {
    line.split_whitespace().map(|field| {
        let (key, value) = field.split_once('=').expect("key=value");
        (key, value.parse().expect("a number"))
    })
}

/// The child-mode value a parent test set in `var`, if this process is such a child.
pub fn child_mode(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// This test binary, re-run as a child process to execute one `#[ignore]`d test body with
/// `var=value` in its environment; stdout is read line by line as it comes.
#[derive(Debug)]
pub struct SelfChild {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout_seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

/// How a [`SelfChild`] ended.
#[derive(Debug)]
pub struct ChildOutcome {
    /// Its exit status (killed by us if it overran its limit).
    pub status: ExitStatus,
    /// Whether we killed it for overrunning.
    pub killed: bool,
    /// Every stdout line.
    pub stdout: Vec<String>,
    /// All of stderr.
    pub stderr: String,
}

impl SelfChild {
    /// Starts `current_exe --ignored --exact <test> --nocapture --test-threads=1` with
    /// `var=value` set.
    pub fn spawn(test: &str, var: &str, value: &str) -> SelfChild {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut child = Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                test,
                "--nocapture",
                "--test-threads=1",
            ])
            .env(var, value)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("re-run the test binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        SelfChild {
            child,
            lines,
            stdout_seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits (at most `limit`) for a stdout line starting with `prefix`; returns the rest.
    pub fn line_starting(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.stdout_seen.push(line.clone());
            if let Some(rest) = line.strip_prefix(prefix) {
                return Some(rest.to_owned());
            }
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the child.
    ///
    /// # Panics
    ///
    /// If `kill` fails (the child was already reaped).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits in pid_t");
        // SAFETY: `kill` takes no pointers; the pid is our own, not yet reaped, child's.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits for the child (at most `limit`) and returns its stdout line starting with
    /// `done`, the child's sign that it ran to the end.
    ///
    /// # Panics
    ///
    /// With the child's status and output, if it failed, overran or never printed `done`.
    pub fn finish_with_line(self, done: &str, limit: Duration) -> String {
        let out = self.finish(limit);
        let line = out.stdout.iter().find(|l| l.starts_with(done)).cloned();
        match line {
            Some(line) if out.status.success() => line,
            _ => panic!(
                "the child {} (killed for overrunning: {}) did not print {done:?}\nstdout: {:?}\nstderr: {}",
                out.status, out.killed, out.stdout, out.stderr
            ),
        }
    }

    /// Waits for the child to exit, killing it if it is still running after `limit`.
    pub fn finish(mut self, limit: Duration) -> ChildOutcome {
        let deadline = Instant::now() + limit;
        let mut killed = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                killed = true;
                break self.child.wait().expect("wait for the killed child");
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The child is gone, so its stdout reaches EOF and the reader thread hangs up.
        let mut stdout = std::mem::take(&mut self.stdout_seen);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        ChildOutcome {
            status,
            killed,
            stdout,
            stderr,
        }
    }
}

impl Drop for SelfChild {
    fn drop(&mut self) {
        // A panicking parent must not leave the child running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
