//! Ours: `net::TcpListener` on `runtime`, current-thread (`threads: None`) or
//! multi-thread with that many workers.

use std::io;

use crate::handler::futures_io;
use crate::workload::Workload;

pub fn serve(
    listener: std::net::TcpListener,
    workload: Workload,
    threads: Option<usize>,
) -> io::Result<()> {
    let rt = match threads {
        None => runtime::Builder::new_current_thread().build()?,
        Some(n) => runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .build()?,
    };
    rt.block_on(async move {
        let listener = net::TcpListener::from_std(listener)?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("load: runtime: accept: {e}");
                    continue;
                }
            };
            runtime::spawn(connection(stream, workload));
        }
    })
}

async fn connection(stream: net::TcpStream, workload: Workload) {
    if stream.set_nodelay(true).is_err() || stream.peek(&mut [0; 1]).await.is_err() {
        return;
    }
    match workload {
        Workload::Echo => futures_io::echo(stream).await,
        Workload::Http => futures_io::http(stream).await,
    }
}
