//! Shared helpers for the integration tests in `tests/tests/`: one module per area.

pub mod net; // sockets: loopback helpers, fd/CLOEXEC checks, child processes
pub mod rt; // runtimes: both flavors, fd and thread counts, CPU time

/// Scales a soak-sized count: the full `n` in release builds or with `RUNTIME_SOAK=full`,
/// a tenth of it (at least 1) in debug builds, so the debug suite stays quick.
pub fn soak(n: usize) -> usize {
    let full = !cfg!(debug_assertions) || std::env::var("RUNTIME_SOAK").is_ok_and(|v| v == "full");
    if full { n } else { (n / 10).max(1) }
}
