//! Shared helpers for the integration tests in `tests/tests/`: one module per area.

pub mod net; // sockets: loopback helpers, fd/CLOEXEC checks, child processes
pub mod process; // this process's descriptor limit and resident memory
pub mod rt; // runtimes: both flavors, fd and thread counts, CPU time
