//! tokio: `tokio::net::TcpListener`, current-thread (`threads: None`) or multi-thread
//! with that many workers.

use std::io;

use crate::handler::tokio_io;
use crate::workload::Workload;

pub fn serve(
    listener: std::net::TcpListener,
    workload: Workload,
    threads: Option<usize>,
) -> io::Result<()> {
    let rt = match threads {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("load: tokio: accept: {e}");
                    continue;
                }
            };
            tokio::spawn(connection(stream, workload));
        }
    })
}

async fn connection(stream: tokio::net::TcpStream, workload: Workload) {
    if stream.set_nodelay(true).is_err() || stream.peek(&mut [0; 1]).await.is_err() {
        return;
    }
    match workload {
        Workload::Echo => tokio_io::echo(stream).await,
        Workload::Http => tokio_io::http(stream).await,
    }
}
