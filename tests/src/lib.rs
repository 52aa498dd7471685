//! Shared helpers for the integration tests in `tests/tests/`: one module per area.

pub mod intruder; // the hijack tests' intruder process: drops privileges, binds, reports
pub mod net; // sockets: loopback helpers, fd/CLOEXEC checks, child processes
pub mod process; // this process's descriptor limit and resident memory
pub mod procfs; // /proc accounting: inheritable fds, a helper process's fd table
pub mod rawsock; // raw libc sockets with chosen options, as an intruder makes them
pub mod rt; // runtimes: both flavors, fd and thread counts, CPU time
pub mod stream; // byte streams: transports to a foreign thread, hashes, progress gaps
