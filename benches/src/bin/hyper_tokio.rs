//! The `hyper_server` example's service on tokio, for `scripts/hyper_wrk.sh`: the same
//! hyper version and builders' settings (HTTP/1.1 and HTTP/2 prior knowledge on one port,
//! `TCP_NODELAY`, a 10 s header-read timeout on a timer), the same response to `/`
//! (`Hello, world!\n` with a `Content-Length`), with hyper-util's `TokioIo`,
//! `TokioExecutor` and `TokioTimer` where the example has `net::compat::hyper`'s.
//!
//! ```sh
//! cargo run --release -p benches --bin hyper_tokio -- --flavor current_thread --port 8080
//! ```
//!
//! It serves until killed. Bad arguments print the usage and exit 2.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

const USAGE: &str = "usage: hyper_tokio [--flavor current_thread|multi_thread] [--port PORT]";

/// The example's `HELLO`.
const HELLO: &str = "Hello, world!\n";
/// The example's `Config::new` header-read timeout.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let (multi_thread, port) = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("hyper_tokio: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build();
    let result = runtime.and_then(|rt| rt.block_on(serve(port)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper_tokio: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(bool, u16), String> {
    let (mut multi_thread, mut port) = (true, 8080);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match (arg.as_str(), value.as_str()) {
            ("--flavor", "multi_thread") => multi_thread = true,
            ("--flavor", "current_thread") => multi_thread = false,
            ("--port", p) => port = p.parse().map_err(|_| format!("bad port {p:?}"))?,
            _ => return Err(format!("unknown argument {arg} {value}")),
        }
    }
    Ok((multi_thread, port))
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let builder = builder.clone();
        tokio::spawn(async move {
            let _ = builder
                .serve_connection(TokioIo::new(stream), service_fn(respond))
                .await;
        });
    }
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, HELLO),
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}
