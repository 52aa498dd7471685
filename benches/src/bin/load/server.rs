//! `load --serve COLUMN WORKLOAD THREADS`: the child process that serves one column.
//! It binds `127.0.0.1:0`, prints `port N` on stdout, and serves until killed.

use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener};

use crate::servers;
use crate::workload::{Column, Workload};

/// Runs the server; returns only on a setup error.
pub fn run(column: Column, workload: Workload, threads: usize) -> io::Result<()> {
    crate::child::die_with_parent();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "port {port}")?;
    stdout.flush()?;
    drop(stdout);
    match column {
        Column::Ours => servers::ours::serve(listener, workload, None),
        Column::OursMt => servers::ours::serve(listener, workload, Some(threads)),
        Column::Tokio => servers::tokio::serve(listener, workload, None),
        Column::TokioMt => servers::tokio::serve(listener, workload, Some(threads)),
        Column::Smol => servers::smol::serve(listener, workload, None),
        Column::SmolMt => servers::smol::serve(listener, workload, Some(threads)),
        Column::Epoll => servers::epoll::serve(listener, workload),
    }
}
