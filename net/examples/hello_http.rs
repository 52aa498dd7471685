//! A keep-alive HTTP/1.1 server that answers every request with `Hello, world!`.
//!
//! ```sh
//! cargo run -p net --release --example hello_http                 # on 127.0.0.1:8080
//! cargo run -p net --release --example hello_http -- --listen 0.0.0.0:3000
//! curl -s http://127.0.0.1:8080/
//! wrk -c 64 -d 5s http://127.0.0.1:8080/
//! cargo test -p net --example hello_http                          # the parser's tests
//! ```
//!
//! It shows a connection task that parses requests out of a buffer rather than one read
//! per request, which is what makes it safe under pipelining: each read appends to the
//! buffer; every complete request head in it (up to a blank line, `\r\n\r\n`) is answered
//! in order, the answers to one read go out in one write, and the bytes of an incomplete
//! request stay for the next read, so a request split across reads (or several in one
//! read) is fine.
//!
//! What it understands of HTTP: the request line (`METHOD TARGET HTTP/1.x`), `Connection`
//! (`close` closes after the response; HTTP/1.0 closes unless `keep-alive`), and
//! `Content-Length`, whose body is skipped unread so it is not taken for the next request.
//! `HEAD` gets the headers without the body. A head longer than 8 KiB is answered
//! `431 Request Header Fields Too Large`, a malformed one `400 Bad Request`, a chunked body
//! (which it does not decode) `501 Not Implemented`; each then closes the connection.
//!
//! Bad arguments print the usage and exit 2.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{TcpListener, TcpStream};
use runtime::time::timeout;

const USAGE: &str = "\
usage: hello_http [--listen ADDR]

  serve HTTP/1.1 on ADDR (default 127.0.0.1:8080), answering every request with
  \"Hello, world!\", until killed";

const BODY: &str = "Hello, world!\n";
/// The longest request head (request line and headers) we accept.
const MAX_HEAD: usize = 8 * 1024;
/// How much a read asks for at a time.
const READ_CHUNK: usize = 4 * 1024;
/// How long we keep reading (and discarding) after an error response before closing.
const LINGER: Duration = Duration::from_secs(1);

#[runtime::main]
async fn main() -> ExitCode {
    let addr = match parse_args(std::env::args().skip(1)) {
        Ok(Some(addr)) => addr,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("hello_http: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hello_http: cannot listen on {addr:?}: {e}");
            if e.kind() == io::ErrorKind::InvalidInput {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}/"),
        Err(e) => eprintln!("hello_http: listening, but local_addr failed: {e}"),
    }
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                runtime::spawn(async move {
                    // A client that goes away mid-request is its own business.
                    let _ = serve(stream).await;
                });
            }
            // Out of descriptors, or a client that gave up before we accepted it: report
            // and go on (after EMFILE the next accept backs off by itself).
            Err(e) => eprintln!("hello_http: accept failed: {e}"),
        }
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<String>, String> {
    let mut listen = "127.0.0.1:8080".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--listen" => listen = args.next().ok_or("--listen needs a value")?,
            _ => match arg.strip_prefix("--listen=") {
                Some(addr) => listen = addr.to_owned(),
                None => return Err(format!("unknown argument {arg:?}")),
            },
        }
    }
    Ok(Some(listen))
}

/// Serves one connection until the client closes it or a response says `close`.
async fn serve(stream: TcpStream) -> io::Result<()> {
    // Responses are written whole, once per read: there is nothing for Nagle to merge.
    stream.set_nodelay(true)?;
    let mut conn = Connection::default();
    let mut out = Vec::new();
    loop {
        if conn.read_from(&stream).await? == 0 {
            return Ok(()); // the client closed (perhaps mid-request: nothing to answer)
        }
        let next = conn.respond(&mut out);
        (&stream).write_all(&out).await?;
        out.clear();
        if next == Next::Close {
            return close(&stream).await;
        }
    }
}

/// Closes gracefully: shut down our side, then read and discard what the client still
/// sends (for at most `LINGER`). Closing with unread data would send a reset, which can
/// destroy the response before the client has read it.
async fn close(stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut sink = [0; 1024];
    let drain = async {
        while (&*stream).read(&mut sink).await? != 0 {}
        io::Result::Ok(())
    };
    let _ = timeout(LINGER, drain).await;
    Ok(())
}

/// One connection's unparsed input.
#[derive(Default)]
struct Connection {
    /// Bytes read and not yet consumed: the start of the next request (or body).
    buf: Vec<u8>,
    /// Body bytes of the last request still to skip.
    skip: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
}

impl Connection {
    /// Appends one read's worth to the buffer; 0 at end of stream.
    async fn read_from(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let n = (&*stream).read(&mut self.buf[len..]).await;
        self.buf.truncate(len + n.as_ref().map_or(0, |&n| n));
        n
    }

    /// Answers every complete request in the buffer, in order, appending the responses
    /// to `out`, and keeps the rest of the buffer for the next read.
    fn respond(&mut self, out: &mut Vec<u8>) -> Next {
        let mut pos = 0;
        let next = loop {
            let skipped = self.skip.min(self.buf.len() - pos);
            pos += skipped;
            self.skip -= skipped;
            if self.skip > 0 {
                break Next::KeepAlive; // the body goes on in the next read
            }
            let pending = &self.buf[pos..];
            let Some(end) = find_head_end(pending) else {
                if pending.len() > MAX_HEAD {
                    break error(out, "431 Request Header Fields Too Large");
                }
                break Next::KeepAlive; // the head goes on in the next read
            };
            if end > MAX_HEAD {
                break error(out, "431 Request Header Fields Too Large");
            }
            let head = &pending[..end];
            pos += end;
            match Request::parse(head) {
                Ok(request) => {
                    self.skip = request.body_len;
                    let next = request.respond(out);
                    if next == Next::Close {
                        break next;
                    }
                }
                Err(status) => break error(out, status),
            }
        };
        self.buf.drain(..pos);
        next
    }
}

/// The length of the request head at the start of `buf`, its final `\r\n\r\n`
/// included, once it is all there.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// What one request asks of us.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    head_only: bool,
    keep_alive: bool,
    body_len: usize,
}

impl Request {
    /// Parses a request head (request line and headers, `\r\n\r\n` included), or returns
    /// the error status to answer with.
    fn parse(head: &[u8]) -> Result<Request, &'static str> {
        const BAD: &str = "400 Bad Request";
        let head = std::str::from_utf8(head).map_err(|_| BAD)?;
        // A client may send an empty line or two between requests (RFC 9112, 2.2).
        let mut lines = head.trim_start_matches("\r\n").split("\r\n");
        let request_line = lines.next().ok_or(BAD)?;
        let mut parts = request_line.split(' ');
        let (Some(method), Some(_target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BAD);
        };
        let mut request = Request {
            head_only: method == "HEAD",
            keep_alive: match version {
                "HTTP/1.1" => true,
                "HTTP/1.0" => false,
                _ => return Err("505 HTTP Version Not Supported"),
            },
            body_len: 0,
        };
        for line in lines.take_while(|line| !line.is_empty()) {
            let (name, value) = line.split_once(':').ok_or(BAD)?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("connection") {
                for option in value.split(',').map(str::trim) {
                    if option.eq_ignore_ascii_case("close") {
                        request.keep_alive = false;
                    } else if option.eq_ignore_ascii_case("keep-alive") {
                        request.keep_alive = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("content-length") {
                request.body_len = value.parse().map_err(|_| BAD)?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err("501 Not Implemented");
            }
        }
        Ok(request)
    }

    /// Appends the response to `out`.
    fn respond(&self, out: &mut Vec<u8>) -> Next {
        let connection = match self.keep_alive {
            true => "",
            false => "Connection: close\r\n",
        };
        // Writing to a `Vec` cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{connection}\r\n",
            BODY.len()
        );
        if !self.head_only {
            out.extend_from_slice(BODY.as_bytes());
        }
        match self.keep_alive {
            true => Next::KeepAlive,
            false => Next::Close,
        }
    }
}

/// Appends an error response to `out`; the connection closes after it.
fn error(out: &mut Vec<u8>, status: &str) -> Next {
    // Writing to a `Vec` cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{status}\n",
        status.len() + 1
    );
    Next::Close
}

// `cargo test -p net --example hello_http`
#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// Feeds `reads` one by one; returns the number of 200 responses after each, and
    /// whether the connection was to close.
    fn feed(reads: &[&[u8]]) -> (Vec<usize>, Next, String) {
        let mut conn = Connection::default();
        let mut out = Vec::new();
        let mut counts = Vec::new();
        let mut next = Next::KeepAlive;
        for read in reads {
            conn.buf.extend_from_slice(read);
            next = conn.respond(&mut out);
            counts.push(String::from_utf8_lossy(&out).matches("200 OK").count());
        }
        (counts, next, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn pipelined_requests_in_one_read_are_all_answered() {
        assert_eq!(feed(&[&GET.repeat(3)]).0, [3]);
    }

    #[test]
    fn a_request_split_across_reads_is_answered_once_complete() {
        let (counts, next, _) = feed(&[
            &GET[..5],
            &GET[5..20],
            &[&GET[20..], &GET[..3]].concat(),
            &GET[3..],
        ]);
        assert_eq!(counts, [0, 0, 1, 2]);
        assert_eq!(next, Next::KeepAlive);
    }

    #[test]
    fn a_body_is_skipped_not_parsed_as_a_request() {
        let post =
            b"POST / HTTP/1.1\r\nContent-Length: 30\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n!!";
        let (counts, ..) = feed(&[&post[..45], &[&post[45..], GET].concat()]);
        assert_eq!(counts, [1, 2]);
    }

    #[test]
    fn connection_close_answers_and_drops_what_follows() {
        let close = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        let (counts, next, out) = feed(&[&[GET, close, GET].concat()]);
        assert_eq!((counts, next), (vec![2], Next::Close));
        assert!(out.ends_with("Connection: close\r\n\r\nHello, world!\n"));
    }

    #[test]
    fn an_oversized_head_is_refused() {
        let big = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
        let (_, next, out) = feed(&[&big]);
        assert_eq!(next, Next::Close);
        assert!(out.starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn http_1_0_closes_unless_keep_alive() {
        assert_eq!(feed(&[b"GET / HTTP/1.0\r\n\r\n"]).1, Next::Close);
        let keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(feed(&[keep]).1, Next::KeepAlive);
    }
}
