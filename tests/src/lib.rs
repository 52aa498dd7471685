//! Shared helpers for the integration tests in `tests/tests/`: one module per area.

pub mod net; // sockets: loopback helpers, fd/CLOEXEC checks, child processes
pub mod rt; // runtimes: both flavors, fd and thread counts, CPU time
pub mod stream; // byte streams: transports to a foreign thread, hashes, progress gaps
