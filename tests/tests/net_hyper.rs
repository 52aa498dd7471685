//! hyper 1.x on the runtime (`net` feature `hyper`): the `hyper_server` example's own code
//! (included below, so these tests test the very example) served to hyper's client over
//! HTTP/1.1 and HTTP/2 with prior knowledge, on TCP and Unix sockets, on both flavors.
//! Its graceful shutdown: a request in flight when the shutdown starts completes and is
//! counted drained, a connection still busy at the deadline is counted cut, new
//! connections are refused; the header-read timeout hyper runs on `HyperTimer` fires; and
//! the real signal path (SIGTERM, SIGINT), in a child process, prints the drained/cut line.
//!
//! Shutdown counts are exact because every test keeps all its connections open until the
//! shutdown starts: each is then either drained or cut.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::{http1 as client1, http2 as client2};
use hyper::{Request, Response, StatusCode, Version};
use net::compat::hyper::{HyperExecutor, HyperTimer};
use net::{TcpListener, TcpStream, UnixListener, UnixStream};
use runtime::task::JoinHandle;
use runtime::time::sleep;
use tests::net::{SelfChild, TempDir, child_mode, within};
use tests::rt::{Flavor, Sender, oneshot};
use tests::rt_test;

#[expect(
    dead_code,
    reason = "main and its command line are the example binary's, not these tests'"
)]
#[path = "../../net/examples/hyper_server.rs"]
mod hyper_server;

use hyper_server::{Config, HELLO, PREFACE, Protocol, Report, SLOW_BODY, classify, detect};

/// A hang guard, not a speed: every wait here takes milliseconds when things work.
const LIMIT: Duration = Duration::from_secs(30);

// hyper requires `Send + Sync` sleeps (`hyper::rt::Sleep`); `HyperTimer` hands it ours.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<runtime::time::Sleep>();
    send_sync::<HyperTimer>();
    send_sync::<HyperExecutor>();
};

/// The example's `serve` on a task of the current runtime, with its shutdown trigger.
struct Server {
    trigger: Option<Sender<()>>,
    task: JoinHandle<Report>,
}

impl Server {
    fn start<L: hyper_server::Listener + 'static>(listener: L, config: Config) -> Server {
        let (trigger, fired) = oneshot::<()>();
        let shutdown = async move {
            // A dropped trigger (a failing test) shuts down too.
            let _ = fired.await;
        };
        let task = runtime::spawn(hyper_server::serve(listener, shutdown, config));
        Server {
            trigger: Some(trigger),
            task,
        }
    }

    async fn tcp(config: Config) -> (Server, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (Server::start(listener, config), addr)
    }

    /// Starts the graceful shutdown.
    fn shutdown(&mut self) {
        self.trigger
            .take()
            .expect("one shutdown per server")
            .send(());
    }

    /// Starts the shutdown if it has not started, and waits for `serve`'s report.
    async fn report(mut self) -> Report {
        if self.trigger.is_some() {
            self.shutdown();
        }
        within(LIMIT, "the server's shutdown", self.task)
            .await
            .unwrap()
    }
}

/// One client connection of hyper's, either protocol, its driver on a task.
struct Client {
    sender: Sender_,
    driver: JoinHandle<hyper::Result<()>>,
}

enum Sender_ {
    Http1(client1::SendRequest<Empty<Bytes>>),
    Http2(client2::SendRequest<Empty<Bytes>>),
}

impl Client {
    async fn connect<S>(stream: S, protocol: Protocol) -> Client
    where
        S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        within(LIMIT, "hyper's client handshake", async {
            match protocol {
                Protocol::Http1 => {
                    let (sender, conn) = client1::handshake(stream).await.unwrap();
                    Client {
                        sender: Sender_::Http1(sender),
                        driver: runtime::spawn(conn),
                    }
                }
                Protocol::Http2 => {
                    let (sender, conn) = client2::Builder::new(HyperExecutor::new())
                        .timer(HyperTimer::new())
                        .handshake(stream)
                        .await
                        .unwrap();
                    Client {
                        sender: Sender_::Http2(sender),
                        driver: runtime::spawn(conn),
                    }
                }
            }
        })
        .await
    }

    async fn tcp(addr: SocketAddr, protocol: Protocol) -> Client {
        Client::connect(TcpStream::connect(addr).await.unwrap(), protocol).await
    }

    /// Sends `GET path` and returns the response once its head arrived.
    async fn get(&mut self, path: &str) -> Response<Incoming> {
        within(LIMIT, "a response head", async {
            match &mut self.sender {
                Sender_::Http1(sender) => {
                    let request = Request::get(path)
                        .header("host", "localhost")
                        .body(Empty::new())
                        .unwrap();
                    sender.ready().await.unwrap();
                    sender.send_request(request).await.unwrap()
                }
                Sender_::Http2(sender) => {
                    let request = Request::get(format!("http://localhost{path}"))
                        .body(Empty::new())
                        .unwrap();
                    sender.ready().await.unwrap();
                    sender.send_request(request).await.unwrap()
                }
            }
        })
        .await
    }

    /// `GET path`, read whole: status, protocol version and body.
    async fn get_text(&mut self, path: &str) -> (StatusCode, Version, String) {
        let response = self.get(path).await;
        let (status, version) = (response.status(), response.version());
        (status, version, text(response).await.unwrap())
    }

    /// Waits for the connection to end (the server closed it); returns how it ended.
    async fn closed(self) -> hyper::Result<()> {
        drop(self.sender);
        within(LIMIT, "the connection's end", self.driver)
            .await
            .unwrap()
    }
}

/// The rest of a response's body as text.
async fn text(response: Response<Incoming>) -> Result<String, hyper::Error> {
    let body = within(LIMIT, "a response body", response.into_body().collect()).await?;
    Ok(String::from_utf8(body.to_bytes().to_vec()).expect("a UTF-8 body"))
}

fn version(protocol: Protocol) -> Version {
    match protocol {
        Protocol::Http1 => Version::HTTP_11,
        Protocol::Http2 => Version::HTTP_2,
    }
}

const BOTH: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

// Proves the example's protocol detection decides on the first byte that differs from
// HTTP/2's preface, says HTTP/2 only on the whole preface, and waits on a strict prefix.
#[test]
fn classify_decides_on_the_first_differing_byte() {
    assert_eq!(classify(b"G"), Some(Protocol::Http1));
    assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Some(Protocol::Http1));
    assert_eq!(classify(b"POST / HTTP/1.1\r\n"), Some(Protocol::Http1));
    assert_eq!(classify(b"PRI * HTTP/1.1\r\n"), Some(Protocol::Http1));
    assert_eq!(classify(b"P"), None);
    assert_eq!(classify(&PREFACE[..23]), None);
    assert_eq!(classify(PREFACE), Some(Protocol::Http2));
}

rt_test! {
    // Proves the example's peeking detection on real streams: a preface split in two
    // writes 30 ms apart is HTTP/2 (the short peek waits rather than deciding or
    // spinning), a request line is HTTP/1 at once, a peer that closes before sending
    // anything is `None`, and one that sends half a preface and then nothing is dropped
    // with `TimedOut` at the deadline. Nothing is consumed: the bytes stay for hyper.
    async fn detect_waits_for_a_split_preface_and_gives_up_at_the_deadline() {
        let soon = || Instant::now() + Duration::from_millis(300);
        let (server, mut client) = UnixStream::pair().unwrap();
        client.write_all(&PREFACE[..10]).await.unwrap();
        let rest = runtime::spawn(async move {
            runtime::time::sleep(Duration::from_millis(30)).await;
            client.write_all(&PREFACE[10..]).await.unwrap();
            client
        });
        let later = Instant::now() + LIMIT;
        assert_eq!(detect(&server, later).await.unwrap(), Some(Protocol::Http2));
        let mut preface = [0; 24];
        let mut server = server;
        server.read_exact(&mut preface).await.unwrap();
        assert_eq!(&preface, PREFACE);
        drop(rest.await.unwrap());
        assert_eq!(detect(&server, soon()).await.unwrap(), None, "EOF");

        let (server, mut client) = UnixStream::pair().unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(detect(&server, soon()).await.unwrap(), Some(Protocol::Http1));

        let (server, mut client) = UnixStream::pair().unwrap();
        client.write_all(b"PRI * ").await.unwrap();
        let deadline = soon();
        let err = detect(&server, deadline).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(Instant::now() >= deadline);
    }

    // Proves HTTP/1.1 keep-alive: several requests, a 404 among them, go over one client
    // connection (hyper's `SendRequest` has one), and the server counts that one
    // connection drained when it shuts down.
    async fn http1_keep_alive_serves_several_requests_on_one_connection() {
        let (server, addr) = Server::tcp(Config::new(LIMIT)).await;
        let mut client = Client::tcp(addr, Protocol::Http1).await;
        for _ in 0..3 {
            let got = client.get_text("/").await;
            assert_eq!(got, (StatusCode::OK, Version::HTTP_11, HELLO.into()));
        }
        assert_eq!(client.get_text("/missing").await.0, StatusCode::NOT_FOUND);
        assert_eq!(client.get_text("/").await.2, HELLO);
        assert_eq!(server.report().await, Report { drained: 1, cut: 0 });
        client.closed().await.unwrap();
    }

    // Proves HTTP/2 with prior knowledge on the same port: 16 requests in flight at once
    // on one connection (each stream a task spawned through `HyperExecutor`), all answered.
    async fn http2_multiplexes_requests_on_one_connection() {
        let (server, addr) = Server::tcp(Config::new(LIMIT)).await;
        let client = Client::tcp(addr, Protocol::Http2).await;
        let Sender_::Http2(sender) = &client.sender else { unreachable!() };
        let requests = (0..16).map(|_| {
            let mut sender = sender.clone();
            async move {
                let request = Request::get("http://localhost/").body(Empty::new()).unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.version(), Version::HTTP_2);
                text(response).await.unwrap()
            }
        });
        let bodies = within(LIMIT, "16 streams", join_all(requests)).await;
        assert!(bodies.iter().all(|body| body == HELLO), "{bodies:?}");
        assert_eq!(server.report().await, Report { drained: 1, cut: 0 });
        client.closed().await.unwrap();
    }

    // Proves a request in flight when the shutdown starts completes, on both protocols:
    // 1. each client gets the 200 head of `/slow/300` (so the server is handling it);
    // 2. the shutdown starts;
    // 3. both bodies still arrive whole, and both connections are counted drained.
    async fn request_in_flight_at_shutdown_completes() {
        let (mut server, addr) = Server::tcp(Config::new(LIMIT)).await;
        let mut in_flight = Vec::new();
        for protocol in BOTH {
            let mut client = Client::tcp(addr, protocol).await;
            let response = client.get("/slow/300").await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.version(), version(protocol));
            in_flight.push((client, response));
        }
        server.shutdown();
        for (client, response) in in_flight {
            assert_eq!(text(response).await.unwrap(), SLOW_BODY);
            client.closed().await.unwrap();
        }
        assert_eq!(server.report().await, Report { drained: 2, cut: 0 });
    }

    // Proves the drain deadline: with 2 s to drain, an idle HTTP/2 connection closes in
    // time (drained: GOAWAY and a ping round trip on loopback) while an HTTP/1.1 response
    // whose body is a minute away is cut; its client sees the body fail instead of hanging.
    async fn connection_busy_at_the_deadline_is_cut() {
        let (server, addr) = Server::tcp(Config::new(Duration::from_secs(2))).await;
        let mut idle = Client::tcp(addr, Protocol::Http2).await;
        assert_eq!(idle.get_text("/").await.2, HELLO);
        let mut busy = Client::tcp(addr, Protocol::Http1).await;
        let response = busy.get("/slow/60000").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(server.report().await, Report { drained: 1, cut: 1 });
        assert!(text(response).await.is_err(), "a cut response ended cleanly");
        idle.closed().await.unwrap();
    }

    // Proves the listener closes as the shutdown starts: once the server has closed an
    // idle keep-alive connection (which it does only after dropping the listener), a new
    // connection is refused while `serve` may still be draining.
    async fn new_connections_are_refused_once_shutdown_starts() {
        let (mut server, addr) = Server::tcp(Config::new(LIMIT)).await;
        let mut idle = Client::tcp(addr, Protocol::Http1).await;
        assert_eq!(idle.get_text("/").await.2, HELLO);
        let mut busy = Client::tcp(addr, Protocol::Http1).await;
        let response = busy.get("/slow/300").await;
        server.shutdown();
        idle.closed().await.unwrap();
        // Refused within a second, not at once: a test beside this one that starts a child
        // process just before the listener closes gives the child a copy of every
        // descriptor until its `exec`, so the listening socket can outlive our close by
        // that window and take a connection (CI saw it once).
        let refused = within(Duration::from_secs(1), "a refused connect after shutdown", async {
            loop {
                match TcpStream::connect(addr).await {
                    Err(e) => break e,
                    Ok(_held_open_by_a_forking_child) => sleep(Duration::from_millis(5)).await,
                }
            }
        })
        .await;
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused, "{refused}");
        assert_eq!(text(response).await.unwrap(), SLOW_BODY);
        assert_eq!(server.report().await, Report { drained: 2, cut: 0 });
    }

    // Proves hyper's header-read timeout, which hyper runs on `HyperTimer` (its sleeps and
    // in-place resets), fires: a client that sends half a request head and then nothing
    // is disconnected, not before the 1 s timeout, while it still holds its end open.
    async fn header_read_timeout_fires_on_hyper_timer() {
        let timeout = Duration::from_secs(1);
        let config = Config { header_read_timeout: timeout, ..Config::new(LIMIT) };
        let (server, addr) = Server::tcp(config).await;
        // A keep-alive request first: the second head's timer is a reset of the first's,
        // armed when the first response is done (so after `start`).
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut head = [0; 17];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200 OK\r\n");
        stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        let mut rest = Vec::new();
        within(LIMIT, "the header-read timeout", stream.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(start.elapsed() >= timeout, "closed after {:?}", start.elapsed());
        let rest = String::from_utf8_lossy(&rest);
        assert!(rest.ends_with(HELLO), "only the first response came: {rest:?}");
        // The connection closed by itself before the shutdown: nothing was cut.
        assert_eq!(server.report().await.cut, 0);
    }

    // Proves hyper serves Unix-socket streams too, over both protocols (the preface is
    // peeked on them the same way).
    async fn unix_socket_served_over_both_protocols() {
        let dir = TempDir::new("hyper");
        let path = dir.join("http.sock");
        let server = Server::start(UnixListener::bind(&path).unwrap(), Config::new(LIMIT));
        let mut clients = Vec::new();
        for protocol in BOTH {
            let stream = UnixStream::connect(&path).await.unwrap();
            let mut client = Client::connect(stream, protocol).await;
            let got = client.get_text("/").await;
            assert_eq!(got, (StatusCode::OK, version(protocol), HELLO.into()));
            clients.push(client);
        }
        assert_eq!(server.report().await, Report { drained: 2, cut: 0 });
        for client in clients {
            client.closed().await.unwrap();
        }
    }
}

/// The variable that makes this binary the SIGTERM test's server; its value is the flavor.
const SIGTERM_MODE: &str = "NET_HYPER_SIGTERM_CHILD";

// Proves the real signal path of the example: a child process runs the example's `run`
// (the SIGTERM and SIGINT handlers, the listener, `serve`), SIGTERM on the current-thread
// flavor and SIGINT (ctrl-c) on the multi-thread one; this process
// 1. reads the child's `listening on` line, opens an HTTP/2 connection (one request,
//    then idle) and an HTTP/1.1 one whose `/slow/500` head has arrived;
// 2. sends the child the signal;
// 3. reads the slow body whole; the child exits 0 saying both connections were drained.
#[test]
fn sigterm_drains_in_flight_requests_and_says_so() {
    let runs = [
        (Flavor::CurrentThread, libc::SIGTERM),
        (Flavor::MultiThread, libc::SIGINT),
    ];
    for (flavor, signal) in runs {
        let mut child = SelfChild::spawn("sigterm_child", SIGTERM_MODE, flavor.name());
        let addr: SocketAddr = child
            .line_starting("listening on http://", LIMIT)
            .expect("the child's listening line")
            .parse()
            .unwrap();
        flavor.block_on(async {
            let mut idle = Client::tcp(addr, Protocol::Http2).await;
            assert_eq!(idle.get_text("/").await.2, HELLO);
            let mut busy = Client::tcp(addr, Protocol::Http1).await;
            let response = busy.get("/slow/500").await;
            assert_eq!(response.status(), StatusCode::OK);
            child.signal(signal);
            assert_eq!(text(response).await.unwrap(), SLOW_BODY);
            idle.closed().await.unwrap();
            busy.closed().await.unwrap();
        });
        let out = child.finish(LIMIT);
        assert!(
            out.status.success()
                && out
                    .stdout
                    .iter()
                    .any(|line| line == "shutdown: 2 connections drained, 0 cut"),
            "{flavor:?}, signal {signal}: the child {} (killed for overrunning: {})\nstdout: {:?}\nstderr: {}",
            out.status,
            out.killed,
            out.stdout,
            out.stderr
        );
    }
}

/// The child process body, run only by the test above (`--ignored --exact` with the mode
/// set): the example's `run` on an ephemeral loopback port.
#[test]
#[ignore = "the server process of sigterm_drains_in_flight_requests_and_says_so"]
fn sigterm_child() {
    let Some(flavor) = child_mode(SIGTERM_MODE) else {
        return;
    };
    // Ends libtest's `test sigterm_child ... ` line, so the example's lines start lines.
    println!();
    let args = hyper_server::Args {
        listen: "127.0.0.1:0".into(),
        multi_thread: Flavor::from_name(&flavor) == Flavor::MultiThread,
        drain: LIMIT,
    };
    let report = hyper_server::run(&args).unwrap();
    println!("{report}");
}
