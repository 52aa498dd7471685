//! Process-wide signal handlers feeding one self-pipe.
//!
//! # Protocol
//!
//! - One global pipe, created on the first [`register`], non-blocking and close-on-exec,
//!   never closed. Its write end is published in `WRITE_FD` before any handler is installed.
//! - Per signal number, a `PENDING` flag and an `INSTALLED` flag. `INSTALLED` is written
//!   only under the `INSTALL` lock: a signal's handler is installed once and never removed.
//! - The handler (async-signal-safe: atomics and `write(2)` only, `errno` saved and
//!   restored) sets `PENDING[signum]`, *then* writes one byte to the pipe. A full pipe
//!   (`EAGAIN`) is fine: unread bytes already guarantee the readers a wakeup.
//! - A reader holds a [`receiver`] (a close-on-exec dup of the read end). On readability it
//!   calls [`drain`] until the pipe is empty, *then* [`take_pending`] for each signal it
//!   serves. A signal that lands between the two steps is either taken now (its byte
//!   stays behind: one spurious wakeup) or writes its byte after the drain (a new edge),
//!   so none is lost; a burst coalesces into at least one pending flag.
//!
//! Several readers may share the pipe (its read ends are dups of one description): whoever
//! drains it takes the pending flags, so the caller must pass what it took to every
//! listener of that signal (the `runtime` crate keeps a generation and a waker list).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::fd::{cvt, owned};

/// The numbers of the signals `runtime::signal::unix::SignalKind` names, so that crates
/// above this one never name `libc`.
pub mod number {
    use std::ffi::c_int;

    /// SIGINT: Ctrl-C at the terminal.
    pub const SIGINT: c_int = libc::SIGINT;
    /// SIGTERM: a polite request to terminate.
    pub const SIGTERM: c_int = libc::SIGTERM;
    /// SIGHUP: the terminal hung up (daemons: reload).
    pub const SIGHUP: c_int = libc::SIGHUP;
    /// SIGQUIT: Ctrl-\\ at the terminal.
    pub const SIGQUIT: c_int = libc::SIGQUIT;
    /// SIGUSR1: user-defined.
    pub const SIGUSR1: c_int = libc::SIGUSR1;
    /// SIGUSR2: user-defined.
    pub const SIGUSR2: c_int = libc::SIGUSR2;
    /// SIGWINCH: the terminal window changed size.
    pub const SIGWINCH: c_int = libc::SIGWINCH;
    /// SIGCHLD: a child process stopped or exited.
    pub const SIGCHLD: c_int = libc::SIGCHLD;
    /// SIGALRM: a real-time timer expired.
    pub const SIGALRM: c_int = libc::SIGALRM;
    /// SIGPIPE: a write to a pipe or socket with no reader.
    pub const SIGPIPE: c_int = libc::SIGPIPE;
    /// SIGIO: I/O is possible on a descriptor.
    pub const SIGIO: c_int = libc::SIGIO;
}

/// Signal numbers below this have a slot (FreeBSD's `_SIG_MAXSIG` is 128, Linux has 64).
const SLOTS: usize = 129;

/// Signals no handler may take: the OS refuses SIGKILL and SIGSTOP, and returning from a
/// handler for a synchronous fault (SIGILL, SIGFPE, SIGSEGV) would rerun the faulting
/// instruction forever (tokio refuses the same list).
const FORBIDDEN: [libc::c_int; 5] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
];

static PENDING: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static INSTALLED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// The pipe's write end for the handler; -1 until the pipe exists.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static PIPE: OnceLock<Pipe> = OnceLock::new();
/// Serializes pipe creation and handler installation.
static INSTALL: Mutex<()> = Mutex::new(());

struct Pipe {
    read: OwnedFd,
    /// Kept open for the life of the process; the handler writes through `WRITE_FD`.
    _write: OwnedFd,
}

/// Installs the process-wide handler for `signum` (once; later calls only check it).
///
/// The handler replaces the signal's previous disposition and is never removed, as in
/// tokio: after this, the signal no longer terminates the process.
///
/// # Errors
///
/// `InvalidInput` for 0, negative or too large numbers and for SIGKILL, SIGSTOP, SIGILL,
/// SIGFPE and SIGSEGV; the OS error from creating the pipe or from `sigaction` (`EINVAL`,
/// also `InvalidInput`, for a number this OS does not have).
pub fn register(signum: libc::c_int) -> io::Result<()> {
    let slot = slot(signum)?;
    if INSTALLED[slot].load(Ordering::Acquire) {
        return Ok(());
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if INSTALLED[slot].load(Ordering::Acquire) {
        return Ok(());
    }
    pipe()?;
    install(signum)?;
    INSTALLED[slot].store(true, Ordering::Release);
    Ok(())
}

/// Checks `signum` as [`register`] does, without installing anything.
///
/// # Errors
///
/// `InvalidInput` as for [`register`] (a number the OS lacks is only found by `register`).
pub fn check(signum: libc::c_int) -> io::Result<()> {
    slot(signum).map(drop)
}

/// A new close-on-exec descriptor for the pipe's read end (a dup: non-blocking, like
/// the original, since they share one open file description).
///
/// # Errors
///
/// The OS error from creating the pipe or from `fcntl(F_DUPFD_CLOEXEC)` (e.g. `EMFILE`).
pub fn receiver() -> io::Result<OwnedFd> {
    let read = pipe()?.read.as_raw_fd();
    // SAFETY: `read` is the global pipe's read end, open for the life of the process;
    // the new descriptor is owned on this line.
    let fd = cvt(unsafe { libc::fcntl(read, libc::F_DUPFD_CLOEXEC, 0) })?;
    Ok(owned(fd))
}

/// Reads the pipe through `receiver` until it is empty, and returns the error that ended
/// the reading: `WouldBlock` once it is empty (so an `AsyncFd` guard clears its
/// readiness), or an OS error. Call [`take_pending`] after it, never before.
pub fn drain(receiver: BorrowedFd<'_>) -> io::Error {
    let mut buf = [0u8; 128];
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the fd is borrowed live.
        let n = unsafe { libc::read(receiver.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match cvt(n) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return e,
            Ok(0) => return io::Error::from(io::ErrorKind::UnexpectedEof),
            Ok(_) => {}
        }
    }
}

/// Whether `signum` arrived since the last call, clearing the flag. Out-of-range numbers
/// are never pending.
pub fn take_pending(signum: libc::c_int) -> bool {
    slot(signum).is_ok_and(|slot| PENDING[slot].swap(false, Ordering::AcqRel))
}

/// The table index of `signum`, or `InvalidInput`.
fn slot(signum: libc::c_int) -> io::Result<usize> {
    let Ok(slot) = usize::try_from(signum) else {
        return Err(invalid("signal number: negative"));
    };
    if slot == 0 || slot >= SLOTS {
        return Err(invalid("signal number: out of range"));
    }
    if FORBIDDEN.contains(&signum) {
        return Err(invalid(
            "signal number: SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV cannot be handled",
        ));
    }
    Ok(slot)
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The global pipe, created on first use (callers racing here each create one; the
/// `OnceLock` keeps the first and the others are closed unused).
fn pipe() -> io::Result<&'static Pipe> {
    if let Some(pipe) = PIPE.get() {
        return Ok(pipe);
    }
    let (read, write) = new_pipe()?;
    let pipe = PIPE.get_or_init(|| Pipe {
        read,
        _write: write,
    });
    WRITE_FD.store(pipe._write.as_raw_fd(), Ordering::Release);
    Ok(pipe)
}

/// A non-blocking close-on-exec pipe, born so where `pipe2` exists.
#[cfg(not(target_vendor = "apple"))]
fn new_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is valid for two descriptors; both are owned right below.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// Apple has no `pipe2`: the flags are set right after creation (a `fork` racing in
/// between could leak the pipe into a child; it is created once per process).
#[cfg(target_vendor = "apple")]
fn new_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::AsFd;
    let mut fds = [-1; 2];
    // SAFETY: `fds` is valid for two descriptors; both are owned right below.
    cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    let (read, write) = (owned(fds[0]), owned(fds[1]));
    for fd in [read.as_fd(), write.as_fd()] {
        crate::fd::set_cloexec(fd)?;
        crate::fd::set_nonblocking(fd, true)?;
    }
    Ok((read, write))
}

/// Points `signum` at [`handler`] with `SA_RESTART`, so slow syscalls of other threads
/// resume instead of failing with `EINTR`.
fn install(signum: libc::c_int) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty flags); the
    // fields that matter are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid, writable sigset_t.
    cvt(unsafe { libc::sigemptyset(&mut action.sa_mask) })?;
    // SAFETY: `action` is fully initialized; `handler` only does async-signal-safe work;
    // a null old-action pointer is allowed.
    cvt(unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) })?;
    Ok(())
}

/// The handler: mark `signum` pending, then write one byte to the pipe.
extern "C" fn handler(signum: libc::c_int) {
    let errno = errno_location();
    // SAFETY: errno is this thread's; saving it keeps the interrupted code's value.
    let saved = unsafe { *errno };
    if let Ok(slot) = usize::try_from(signum)
        && slot < SLOTS
    {
        PENDING[slot].store(true, Ordering::Release);
    }
    let fd: RawFd = WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        // The result is ignored: EAGAIN means the pipe is full, and unread bytes already
        // guarantee a wakeup; nothing else can be done from a handler anyway.
        // SAFETY: one byte from a static buffer; `fd` is the pipe's write end, never closed.
        let _ = unsafe { libc::write(fd, b"\x01".as_ptr().cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// This thread's `errno`, which a handler must leave as it found it.
fn errno_location() -> *mut libc::c_int {
    // SAFETY: each returns a pointer to the calling thread's errno; no preconditions.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "emscripten"))]
        let p = libc::__errno_location();
        #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
        let p = libc::__errno();
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "dragonfly"
        ))]
        let p = libc::__error();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_numbers_are_invalid_input() {
        for signum in [
            0,
            -1,
            SLOTS as libc::c_int,
            1000,
            libc::SIGKILL,
            libc::SIGSTOP,
        ] {
            let err = register(signum).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}");
        }
    }

    #[test]
    fn receivers_are_cloexec_and_nonblocking() {
        let fd = receiver().unwrap();
        assert!(crate::is_cloexec(std::os::fd::AsFd::as_fd(&fd)).unwrap());
        assert!(crate::is_nonblocking(std::os::fd::AsFd::as_fd(&fd)).unwrap());
        let e = drain(std::os::fd::AsFd::as_fd(&fd));
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }
}
