//! smol: `smol::Async<TcpListener>`; `LocalExecutor` on one thread (`threads: None`), or
//! the `Executor` run by that many threads (this one and `n - 1` more). async-io's own
//! reactor thread, when it runs, is part of the process and so of its CPU time.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use smol::{Async, Executor, LocalExecutor};

use crate::handler::futures_io;
use crate::workload::Workload;

pub fn serve(listener: TcpListener, workload: Workload, threads: Option<usize>) -> io::Result<()> {
    let listener = Async::new(listener)?;
    match threads {
        None => {
            let ex = LocalExecutor::new();
            let spawn = |stream| ex.spawn(connection(stream, workload)).detach();
            smol::block_on(ex.run(accept_loop(listener, spawn)))
        }
        Some(n) => {
            let ex = Arc::new(Executor::new());
            for i in 1..n {
                let ex = ex.clone();
                thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || smol::block_on(ex.run(std::future::pending::<()>())))?;
            }
            let spawn = |stream| ex.spawn(connection(stream, workload)).detach();
            smol::block_on(ex.run(accept_loop(listener, spawn)))
        }
    }
}

/// Accepts forever, handing each connection to `spawn`.
async fn accept_loop(
    listener: Async<TcpListener>,
    spawn: impl Fn(Async<TcpStream>),
) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => spawn(stream),
            Err(e) => eprintln!("load: smol: accept: {e}"),
        }
    }
}

async fn connection(stream: Async<TcpStream>, workload: Workload) {
    if stream.get_ref().set_nodelay(true).is_err() || stream.peek(&mut [0; 1]).await.is_err() {
        return;
    }
    match workload {
        Workload::Echo => futures_io::echo(stream).await,
        Workload::Http => futures_io::http(stream).await,
    }
}
