//! The limit column: a hand-written single-threaded server on edge-triggered epoll, with
//! libc directly. Honest, not clever: nonblocking sockets, every event is drained (read
//! until `EAGAIN`, accept until `EAGAIN`), each read's answer written back at once; what
//! the socket does not take waits in the connection's `pending` for `EPOLLOUT`.
//!
//! Per connection it keeps only two empty `Vec`s (no allocation until a partial http head
//! or a short write needs one); all reads share one buffer.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::workload::{self, BUFFER, Workload};

/// The listener's token; connections use their fd.
const LISTENER: u64 = u64::MAX;
/// A connection whose unsent answers grow past this is closed (a client that never reads).
const MAX_PENDING: usize = 1 << 20;

#[derive(Default)]
struct Conn {
    /// The fd, `None` for a free slot.
    fd: Option<OwnedFd>,
    /// An http head not yet complete.
    partial: Vec<u8>,
    /// Answers the socket has not taken yet.
    pending: Vec<u8>,
}

pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    // SAFETY: epoll_create1 takes flags only; the fd is owned on the next line.
    let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: epfd was just returned to us and nothing else owns it.
    let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
    add(&epoll, listener.as_raw_fd(), libc::EPOLLIN, LISTENER)?;
    let mut conns: Vec<Conn> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut buf = vec![0u8; BUFFER];
    loop {
        // SAFETY: `events` is valid for its length, which we pass.
        let n = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                -1,
            )
        };
        let n = match cvt(n) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for event in &events[..n] {
            let (token, flags) = (event.u64, event.events);
            if token == LISTENER {
                accept_all(&epoll, &listener, &mut conns)?;
            } else if let Some(conn) = conns.get_mut(token as usize) {
                if !serve_conn(conn, flags, workload, &mut buf) {
                    *conn = Conn::default(); // closing the fd removes it from epoll
                }
            }
        }
    }
}

/// Accepts until `EAGAIN`, registering each connection edge-triggered.
fn accept_all(epoll: &OwnedFd, listener: &TcpListener, conns: &mut Vec<Conn>) -> io::Result<()> {
    loop {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        let null = std::ptr::null_mut();
        // SAFETY: null address pointers are allowed (we do not want the peer's address).
        let fd = match cvt(unsafe { libc::accept4(listener.as_raw_fd(), null, null.cast(), flags) })
        {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // ECONNABORTED, EMFILE...: report and keep serving what we have.
            Err(e) => {
                eprintln!("load: epoll: accept: {e}");
                return Ok(());
            }
        };
        // SAFETY: accept4 just returned this fd to us.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        set_nodelay(fd.as_raw_fd())?;
        let interest = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        add(epoll, fd.as_raw_fd(), interest, fd.as_raw_fd() as u64)?;
        let slot = fd.as_raw_fd() as usize;
        if conns.len() <= slot {
            conns.resize_with(slot + 1, Conn::default);
        }
        conns[slot] = Conn {
            fd: Some(fd),
            ..Conn::default()
        };
    }
}

/// Handles one event; `false` when the connection is done.
fn serve_conn(conn: &mut Conn, flags: u32, workload: Workload, buf: &mut [u8]) -> bool {
    let Some(fd) = conn.fd.as_ref().map(|fd| fd.as_raw_fd()) else {
        return true;
    };
    if flags & libc::EPOLLOUT as u32 != 0 && !conn.pending.is_empty() && !flush(fd, conn) {
        return false;
    }
    if flags & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 == 0 {
        return true;
    }
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return false,
            n if n > 0 => {
                if !answer(conn, fd, &buf[..n as usize], workload) {
                    return false;
                }
            }
            _ => return io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock,
        }
    }
}

/// Writes the answer to `input`; `false` to close.
fn answer(conn: &mut Conn, fd: RawFd, input: &[u8], workload: Workload) -> bool {
    match workload {
        Workload::Echo => send(conn, fd, input),
        Workload::Http => {
            let mut out = Vec::new();
            if conn.partial.is_empty() {
                let used = workload::respond(input, &mut out);
                conn.partial.extend_from_slice(&input[used..]);
            } else {
                conn.partial.extend_from_slice(input);
                let used = workload::respond(&conn.partial, &mut out);
                conn.partial.drain(..used);
            }
            conn.partial.len() < BUFFER && (out.is_empty() || send(conn, fd, &out))
        }
    }
}

/// Writes `data` after anything pending; keeps what the socket does not take.
fn send(conn: &mut Conn, fd: RawFd, data: &[u8]) -> bool {
    if !conn.pending.is_empty() {
        conn.pending.extend_from_slice(data);
        return conn.pending.len() <= MAX_PENDING;
    }
    match write(fd, data) {
        Ok(n) => {
            conn.pending.extend_from_slice(&data[n..]);
            true
        }
        Err(_) => false,
    }
}

/// Writes pending answers; `false` on error.
fn flush(fd: RawFd, conn: &mut Conn) -> bool {
    match write(fd, &conn.pending) {
        Ok(n) => {
            conn.pending.drain(..n);
            true
        }
        Err(_) => false,
    }
}

/// Writes as much of `data` as the socket takes now.
fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        let rest = &data[done..];
        // SAFETY: `rest` is valid for reads of its length.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        match cvt(n as i32) {
            Ok(n) => done += n as usize,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn add(epoll: &OwnedFd, fd: RawFd, interest: i32, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: interest as u32,
        u64: token,
    };
    // SAFETY: `event` is a valid epoll_event for the call's duration.
    cvt(unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) })
        .map(drop)
}

fn set_nodelay(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    let len = size_of::<libc::c_int>() as libc::socklen_t;
    let on_ptr = (&raw const on).cast();
    // SAFETY: `on` is a c_int valid for reads of `len` bytes.
    cvt(unsafe { libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, on_ptr, len) })
        .map(drop)
}

fn cvt(ret: i32) -> io::Result<i32> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
