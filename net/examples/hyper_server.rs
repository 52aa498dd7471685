//! An HTTP server on hyper 1.x (feature `hyper`): HTTP/1.1 and HTTP/2 with prior
//! knowledge on one port, keep-alive, and a graceful shutdown on SIGTERM or ctrl-c.
//!
//! ```sh
//! cargo run --release -p net --example hyper_server --features hyper      # 127.0.0.1:8080
//! cargo run --release -p net --example hyper_server --features hyper -- \
//!     --listen 127.0.0.1:3000 --flavor current_thread --drain-secs 5
//! curl -s http://127.0.0.1:8080/                                 # Hello, world!
//! curl -s --http2-prior-knowledge http://127.0.0.1:8080/         # the same over HTTP/2
//! curl -s http://127.0.0.1:8080/slow/3000     # the head at once, the body 3 s later
//! wrk -t2 -c64 -d10s http://127.0.0.1:8080/
//! ```
//!
//! Routes: `/` answers `Hello, world!`; `/slow/<ms>` sends its `200` head at once and its
//! body `<ms>` milliseconds later (a request that is still in flight when a shutdown
//! starts); anything else is a `404`.
//!
//! One port, two protocols: each connection's first bytes are peeked (not read) until they
//! either are HTTP/2's 24-byte client preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` or differ
//! from it; the connection then goes to hyper's `http2` or `http1` server as it is. A
//! client that sends nothing decisive within the header-read timeout is dropped.
//!
//! Shutdown, on SIGTERM or ctrl-c: the listener is closed at once (new connections are
//! refused), every live connection is asked to shut down gracefully (HTTP/1.1 finishes
//! the response in flight and closes; HTTP/2 sends GOAWAY and finishes its open streams),
//! and whatever has not finished when the drain deadline passes is cut. The last line
//! says how many were drained and how many cut: `shutdown: 3 connections drained, 1 cut`.
//!
//! The server is [`serve`], which takes its shutdown trigger as a future, so the tests
//! (`tests/tests/net_hyper.rs`, which include this file) drive the very same code.
//! Bad arguments print the usage and exit 2.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use net::compat::hyper::{HyperExecutor, HyperTimer};
use net::{TcpListener, TcpStream, UnixListener, UnixStream};
use runtime::signal::unix::{SignalKind, signal};
use runtime::time::{Sleep, sleep, timeout_at};

const USAGE: &str = "\
usage: hyper_server [--listen ADDR] [--flavor multi_thread|current_thread] [--drain-secs N]

  serve HTTP/1.1 and HTTP/2 (prior knowledge) on ADDR (default 127.0.0.1:8080) until
  SIGTERM or ctrl-c, then let connections finish for up to N seconds (default 10)";

/// What `/` answers.
pub const HELLO: &str = "Hello, world!\n";
/// What `/slow/<ms>` answers, after the delay.
pub const SLOW_BODY: &str = "done waiting\n";
/// HTTP/2's client connection preface (RFC 9113, section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("hyper_server: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hyper_server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line.
#[derive(Clone, Debug)]
pub struct Args {
    /// Where to listen.
    pub listen: String,
    /// The multi-thread flavor (`--flavor multi_thread`, the default), or the
    /// current-thread one (`--flavor current_thread`).
    pub multi_thread: bool,
    /// How long connections get to finish after a shutdown starts.
    pub drain: Duration,
}

impl Args {
    /// `Ok(None)` for `--help`; `Err` says what is wrong.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
        let mut parsed = Args {
            listen: "127.0.0.1:8080".into(),
            multi_thread: true,
            drain: Duration::from_secs(10),
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--listen" => parsed.listen = value()?,
                "--flavor" => match value()?.as_str() {
                    "multi_thread" => parsed.multi_thread = true,
                    "current_thread" => parsed.multi_thread = false,
                    other => return Err(format!("unknown flavor {other:?}")),
                },
                "--drain-secs" => {
                    let secs = value()?;
                    let secs = secs
                        .parse()
                        .map_err(|_| format!("--drain-secs takes whole seconds, not {secs:?}"))?;
                    parsed.drain = Duration::from_secs(secs);
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Some(parsed))
    }
}

/// Builds the runtime `args` ask for, listens, prints `listening on http://ADDR`, and
/// serves until SIGTERM or ctrl-c; returns the shutdown's report.
///
/// # Errors
///
/// Building the runtime, binding, or installing the signal handlers failed.
pub fn run(args: &Args) -> io::Result<Report> {
    let runtime = if args.multi_thread {
        runtime::Builder::new_multi_thread().build()?
    } else {
        runtime::Builder::new_current_thread().build()?
    };
    runtime.block_on(async {
        let listener = TcpListener::bind(args.listen.as_str()).await?;
        // Installed before we say we listen: a SIGTERM from then on is a graceful shutdown.
        let shutdown = shutdown_signal()?;
        println!("listening on http://{}", listener.local_addr()?);
        Ok(serve(listener, shutdown, Config::new(args.drain)).await)
    })
}

/// Completes on the first SIGTERM or SIGINT (ctrl-c).
///
/// Both handlers are installed here, before the caller says it listens. That is why
/// SIGINT is `signal(SignalKind::interrupt())` rather than `runtime::signal::ctrl_c()`,
/// which is the same stream but installs its handler only when first polled: a ctrl-c
/// in between would kill the process instead of draining it.
///
/// # Errors
///
/// Installing a handler failed.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        // `None` (the runtime shut down) ends the wait too.
        let term = pin!(terminate.recv());
        let ctrl_c = pin!(interrupt.recv());
        let _ = select(term, ctrl_c).await;
    })
}

/// The server's knobs.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// How long live connections get to finish once a shutdown starts.
    pub drain: Duration,
    /// How long a client has to send a request head (HTTP/1.1, enforced by hyper through
    /// [`HyperTimer`]), and to send its first bytes on a new connection.
    pub header_read_timeout: Duration,
}

impl Config {
    /// `drain` as given, a 10 s header-read timeout.
    pub fn new(drain: Duration) -> Config {
        Config {
            drain,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// How a shutdown went: of the connections live when it started, how many finished
/// before the drain deadline and how many were cut there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Finished by themselves (or on the graceful-shutdown request) in time.
    pub drained: usize,
    /// Still running at the deadline, and dropped (or ended by a panic).
    pub cut: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (drained, cut) = (self.drained, self.cut);
        write!(f, "shutdown: {drained} connections drained, {cut} cut")
    }
}

/// A listener [`serve`] accepts from: TCP or Unix.
pub trait Listener: Send + Sync {
    /// Its connections.
    type Stream: Connection;
    /// The next connection.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// A byte stream hyper can serve, whose first bytes can be peeked.
pub trait Connection: hyper::rt::Read + hyper::rt::Write + Unpin + Send + Sync + 'static {
    /// `TcpStream::peek` / `UnixStream::peek`.
    fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
}

impl Listener for TcpListener {
    type Stream = TcpStream;

    async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = TcpListener::accept(self).await?;
        // Responses are written whole; do not hold their last segment back for an ACK.
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;

    async fn accept(&self) -> io::Result<UnixStream> {
        Ok(UnixListener::accept(self).await?.0)
    }
}

impl Connection for TcpStream {
    fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        TcpStream::peek(self, buf)
    }
}

impl Connection for UnixStream {
    fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        UnixStream::peek(self, buf)
    }
}

/// Serves `listener` until `shutdown` completes, then drains: stops accepting (the
/// listener is dropped, so new connections are refused), asks every live connection to
/// shut down gracefully, waits for them until `config.drain` has passed, and cuts the rest.
///
/// # Panics
///
/// Outside a runtime: connections are spawned on the current one.
pub async fn serve<L: Listener>(
    listener: L,
    shutdown: impl Future<Output = ()>,
    config: Config,
) -> Report {
    let hyper = Hyper::new(config);
    let mut shutdown = pin!(shutdown);
    let mut live: Vec<Live> = Vec::new();
    loop {
        let accept = pin!(listener.accept());
        let stream = match select(accept, shutdown.as_mut()).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(((), _)) => break,
        };
        match stream {
            Ok(stream) => {
                // Forget finished connections when the list would grow: amortised O(1).
                if live.len() == live.capacity() {
                    live.retain(|conn| !conn.task.is_finished());
                }
                live.push(Live::spawn(stream, hyper.clone()));
            }
            // `net` backs off on EMFILE itself; anything else concerns that one client.
            Err(e) => eprintln!("hyper_server: accept: {e}"),
        }
    }
    let deadline = Instant::now() + config.drain;
    drop(listener);
    live.retain(|conn| !conn.task.is_finished());
    for conn in &live {
        conn.stop.fire();
    }
    drain(live, deadline).await
}

/// Waits for each connection until `deadline`, then cuts it; counts which was which.
async fn drain(live: Vec<Live>, deadline: Instant) -> Report {
    let mut report = Report::default();
    for Live { mut task, .. } in live {
        let outcome = match timeout_at(deadline, &mut task).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => {
                task.abort();
                // It may have finished between the timeout and the abort: then it counts
                // as drained.
                task.await
            }
        };
        match outcome {
            Ok(()) => report.drained += 1,
            Err(_cancelled_or_panicked) => report.cut += 1,
        }
    }
    report
}

/// What every connection task shares: hyper's executor, timer and the config.
#[derive(Clone, Debug)]
struct Hyper {
    executor: HyperExecutor,
    timer: HyperTimer,
    config: Config,
}

impl Hyper {
    fn new(config: Config) -> Hyper {
        Hyper {
            executor: HyperExecutor::new(),
            timer: HyperTimer::new(),
            config,
        }
    }
}

/// A connection task and the way to ask it to shut down.
struct Live {
    task: runtime::task::JoinHandle<()>,
    stop: Arc<Stop>,
}

impl Live {
    fn spawn<S: Connection>(stream: S, hyper: Hyper) -> Live {
        let stop = Arc::new(Stop::default());
        let task = runtime::spawn(connection(stream, hyper, stop.clone()));
        Live { task, stop }
    }
}

/// One connection, start to end: detect the protocol, then let hyper serve it.
async fn connection<S: Connection>(stream: S, hyper: Hyper, stop: Arc<Stop>) {
    let deadline = Instant::now() + hyper.config.header_read_timeout;
    let protocol = {
        let detect = pin!(detect(&stream, deadline));
        let stopped = pin!(poll_fn(|cx| stop.poll_fired(cx)));
        match select(detect, stopped).await {
            Either::Left((Ok(Some(protocol)), _)) => protocol,
            // The client left, failed or stayed silent, or we are shutting down before it
            // asked for anything: nothing to finish.
            Either::Left((Ok(None) | Err(_), _)) | Either::Right(_) => return,
        }
    };
    let service = service_fn(respond);
    match protocol {
        Protocol::Http1 => {
            let conn = http1::Builder::new()
                .timer(hyper.timer)
                .header_read_timeout(hyper.config.header_read_timeout)
                .serve_connection(stream, service);
            let conn = pin!(conn);
            until_done(conn, &stop, |conn| conn.graceful_shutdown()).await;
        }
        Protocol::Http2 => {
            let conn = http2::Builder::new(hyper.executor)
                .timer(hyper.timer)
                .serve_connection(stream, service);
            let conn = pin!(conn);
            until_done(conn, &stop, |conn| conn.graceful_shutdown()).await;
        }
    }
}

/// Polls a hyper connection to its end, calling `graceful` on it once `stop` fires.
/// Its error (a client that reset, a timeout) ends the connection like its success.
async fn until_done<C: Future<Output = hyper::Result<()>>>(
    mut conn: Pin<&mut C>,
    stop: &Stop,
    graceful: impl FnOnce(Pin<&mut C>),
) {
    let mut graceful = Some(graceful);
    let _ = poll_fn(|cx| {
        if graceful.is_some() && stop.poll_fired(cx).is_ready() {
            let graceful = graceful.take().expect("checked is_some");
            graceful(conn.as_mut());
        }
        conn.as_mut().poll(cx)
    })
    .await;
}

/// A one-shot, one-listener stop flag: [`serve`] fires it, the connection's task waits.
#[derive(Debug, Default)]
struct Stop {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Stop {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().expect("no panic holds the lock").take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        {
            let mut slot = self.waker.lock().expect("no panic holds the lock");
            match &mut *slot {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        // `fire` sets the flag before taking the waker: seen here, or woken.
        if self.fired.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// The protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2 with prior knowledge (the client opened with the preface).
    Http2,
}

/// What the first bytes of a connection say: HTTP/2 once they are the whole preface,
/// HTTP/1.x as soon as one differs from it, `None` while they are a strict prefix of it.
pub fn classify(first: &[u8]) -> Option<Protocol> {
    let n = first.len().min(PREFACE.len());
    if first[..n] != PREFACE[..n] {
        Some(Protocol::Http1)
    } else if n == PREFACE.len() {
        Some(Protocol::Http2)
    } else {
        None
    }
}

/// Peeks at `stream` until [`classify`] decides; `Ok(None)` if the peer closed before
/// sending anything. A peer that sends part of the preface and closes is only dropped at
/// `deadline`: a peek cannot see an end-of-stream behind bytes still queued.
///
/// # Errors
///
/// `TimedOut` at `deadline`, or the peek's error.
pub async fn detect<S: Connection>(stream: &S, deadline: Instant) -> io::Result<Option<Protocol>> {
    let mut first = [0; PREFACE.len()];
    let mut backoff = Duration::from_millis(1);
    loop {
        let n = timeout_at(deadline, stream.peek(&mut first))
            .await
            .map_err(|_| timed_out())??;
        if n == 0 {
            return Ok(None);
        }
        if let Some(protocol) = classify(&first[..n]) {
            return Ok(Some(protocol));
        }
        // A strict prefix of the preface: the rest is on its way. The peeked bytes stay
        // queued, so peeking again would return at once: wait a little instead of spinning
        // (clients send the preface in one segment; this is the rare split case).
        if Instant::now() >= deadline {
            return Err(timed_out());
        }
        sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(50));
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no request within the header-read timeout",
    )
}

/// The handler: `/`, `/slow/<ms>`, or 404.
///
/// # Errors
///
/// None: every request gets a response.
pub async fn respond(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path();
    let (status, body) = if path == "/" {
        (StatusCode::OK, Body::now(HELLO))
    } else if let Some(ms) = path.strip_prefix("/slow/").and_then(|ms| ms.parse().ok()) {
        (
            StatusCode::OK,
            Body::later(SLOW_BODY, Duration::from_millis(ms)),
        )
    } else {
        (StatusCode::NOT_FOUND, Body::now("not found\n"))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    Ok(response)
}

/// A response body of one chunk, sent at once or after a delay. Its exact length is known
/// up front, so HTTP/1.1 responses carry a `Content-Length`.
#[derive(Debug)]
pub struct Body {
    data: Option<Bytes>,
    delay: Option<Sleep>,
}

impl Body {
    /// `text`, ready at once.
    pub fn now(text: &'static str) -> Body {
        Body {
            data: Some(Bytes::from_static(text.as_bytes())),
            delay: None,
        }
    }

    /// `text`, ready after `delay` (the head goes out at once).
    pub fn later(text: &'static str, delay: Duration) -> Body {
        Body {
            delay: Some(sleep(delay)),
            ..Body::now(text)
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(delay) = &mut this.delay {
            ready!(Pin::new(delay).poll(cx));
            this.delay = None;
        }
        Poll::Ready(this.data.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}
