//! The two workloads and the columns that serve them, and the request logic every server
//! shares, so a column differs from another only in its runtime.
//!
//! - echo: 64-byte messages; the server reads into a buffer and writes it all back.
//! - http: keep-alive HTTP/1.1 `GET`s; the server appends bytes to a buffer, answers every
//!   complete request head (up to `\r\n\r\n`) in it with the fixed [`RESPONSE`], in order,
//!   one write per read, and keeps an incomplete head for the next read (pipelining-safe).
//!   It reads no bodies: the clients (wrk, ours) send none.

use std::fmt;

/// Bytes of one echo message.
pub const MESSAGE: usize = 64;
/// The request the harness's own client sends for `http` (wrk sends its own).
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
/// The answer to every request.
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
/// Buffer size of every server; an http head that does not fit closes the connection.
pub const BUFFER: usize = 4096;

/// What the servers serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    Echo,
    Http,
}

impl Workload {
    pub const ALL: [Workload; 2] = [Workload::Echo, Workload::Http];

    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Http => "http",
        }
    }

    /// What the harness's client sends per request, and how many bytes answer it.
    pub fn request(self) -> (&'static [u8], usize) {
        match self {
            Workload::Echo => (&[0x5a; MESSAGE], MESSAGE),
            Workload::Http => (REQUEST, RESPONSE.len()),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who serves: our runtime, tokio and smol on one thread and on N, and the epoll limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Ours,
    OursMt,
    Tokio,
    TokioMt,
    Smol,
    SmolMt,
    Epoll,
}

impl Column {
    pub const ALL: [Column; 7] = [
        Column::Ours,
        Column::OursMt,
        Column::Tokio,
        Column::TokioMt,
        Column::Smol,
        Column::SmolMt,
        Column::Epoll,
    ];
    /// The column every ratio is taken to.
    pub const BASE: Column = Column::TokioMt;
    /// The hand-written limit.
    pub const LIMIT: Column = Column::Epoll;

    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Column::Ours => "runtime",
            Column::OursMt => "runtime-mt",
            Column::Tokio => "tokio",
            Column::TokioMt => "tokio-mt",
            Column::Smol => "smol",
            Column::SmolMt => "smol-mt",
            Column::Epoll => "epoll",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One http connection's unanswered input and the answers to the last read.
#[derive(Debug)]
pub struct Http {
    buf: Box<[u8; BUFFER]>,
    len: usize,
    out: Vec<u8>,
}

impl Http {
    pub fn new() -> Http {
        Http {
            buf: Box::new([0; BUFFER]),
            len: 0,
            out: Vec::new(),
        }
    }

    /// Where the next read goes.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.len..]
    }

    /// Takes `n` bytes just read into [`spare`](Http::spare) and returns what to write
    /// (empty while a head is incomplete), or `None` when a head outgrew the buffer.
    pub fn filled(&mut self, n: usize) -> Option<&[u8]> {
        self.len += n;
        self.out.clear();
        let used = respond(&self.buf[..self.len], &mut self.out);
        self.buf.copy_within(used..self.len, 0);
        self.len -= used;
        (self.len < BUFFER).then_some(&self.out[..])
    }
}

/// Appends a [`RESPONSE`] to `out` for every complete request head at the start of
/// `input`; returns how many bytes of `input` they took.
pub fn respond(input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut used = 0;
    while let Some(end) = input[used..].windows(4).position(|w| w == b"\r\n\r\n") {
        used += end + 4;
        out.extend_from_slice(RESPONSE);
    }
    used
}

// `cargo test -p benches --bin load`
#[cfg(test)]
mod tests {
    use super::{BUFFER, Http, REQUEST, RESPONSE};

    /// Feeds `reads` to one connection; the number of responses after each.
    fn answers(reads: &[&[u8]]) -> Vec<Option<usize>> {
        let mut http = Http::new();
        let answers = reads.iter().map(|read| {
            http.spare()[..read.len()].copy_from_slice(read);
            http.filled(read.len())
                .map(|out| out.len() / RESPONSE.len())
        });
        answers.collect()
    }

    #[test]
    fn pipelined_requests_in_one_read_are_all_answered_in_one_write() {
        assert_eq!(answers(&[&REQUEST.repeat(3)]), [Some(3)]);
    }

    #[test]
    fn a_request_split_across_reads_is_answered_once_complete() {
        let (a, b) = REQUEST.split_at(10);
        let second = [b, &REQUEST[..3]].concat();
        assert_eq!(
            answers(&[a, &second, &REQUEST[3..]]),
            [Some(0), Some(1), Some(1)]
        );
    }

    #[test]
    fn a_head_that_fills_the_buffer_closes() {
        let big = vec![b'a'; BUFFER];
        assert_eq!(answers(&[&big]), [None]);
    }
}
