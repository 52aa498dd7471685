//! hyper 1.x on this runtime (feature `hyper`): what hyper-util's `TokioIo`,
//! `TokioExecutor` and `TokioTimer` are for tokio.
//!
//! - [`TcpStream`](crate::TcpStream), [`UnixStream`](crate::UnixStream) and references to
//!   them implement `hyper::rt::Read` and `hyper::rt::Write` directly, so
//!   `serve_connection` and `handshake` take them as they are: no wrapper.
//! - [`HyperExecutor`] implements `hyper::rt::Executor`: HTTP/2's background tasks are
//!   spawned on a runtime.
//! - [`HyperTimer`] implements `hyper::rt::Timer` on [`runtime::time::Sleep`], for
//!   hyper's timeouts (`header_read_timeout`, HTTP/2 keep-alive pings).
//!
//! Only hyper's runtime traits are used here (hyper with default features off); enable
//! hyper's `server`/`client`, `http1`/`http2` features in your own `Cargo.toml`.
//!
//! ```no_run
//! use hyper::body::Incoming;
//! use hyper::{Request, Response};
//! use net::compat::hyper::HyperTimer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     runtime::spawn(async move {
//!         let service = hyper::service::service_fn(|_: Request<Incoming>| async {
//!             Ok::<_, std::convert::Infallible>(Response::new(String::from("hello\n")))
//!         });
//!         let _ = hyper::server::conn::http1::Builder::new()
//!             .timer(HyperTimer::new())
//!             .serve_connection(stream, service)
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! The `hyper_server` example (`net/examples/hyper_server.rs`) serves HTTP/1.1 and HTTP/2
//! on one port with a graceful shutdown.

mod executor; // HyperExecutor: hyper's Executor spawning on a runtime
mod io; // hyper's Read/Write for TcpStream, UnixStream and references to them
mod timer; // HyperTimer: hyper's Timer on runtime::time::Sleep

pub use executor::HyperExecutor;
pub use timer::HyperTimer;
