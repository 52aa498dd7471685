//! Shared helpers for the integration tests in `tests/tests/`: one module per area.

pub mod net; // sockets: loopback helpers, fd/CLOEXEC checks, child processes
pub mod procfs; // /proc accounting: RSS, inheritable fds, a helper process's fd table
pub mod rt; // runtimes: both flavors, fd and thread counts, CPU time
