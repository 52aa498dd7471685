//! A small async runtime for Unix: a reactor, a multi-thread work-stealing executor (the
//! default) and a current-thread one, tasks with `JoinHandle`s and a cooperative budget,
//! timers, signals and a blocking pool.
//!
//! It is not a networking library: sockets live in the `net` crate, which is built on
//! this crate's public [`io::AsyncFd`] like any third-party crate could be.
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = runtime::Runtime::new()?; // one worker thread per core
//! let sum = rt.block_on(async {
//!     let a = runtime::spawn(async { 20 });
//!     let b = runtime::spawn_blocking(|| 22);
//!     runtime::time::sleep(Duration::from_millis(1)).await;
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 42);
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(unsafe_code)]

// Layer 0: the primitives the concurrency core is built from.
mod loom; // std and parking_lot, or loom under `--cfg loom`: what the models check
mod rng; // RngSeed: reproducible scheduling decisions
mod wake; // wake_caught: a user's waker woken from inside the runtime, its panic caught

// Layer 1: readiness and time, turned into wakeups.
pub mod io; // AsyncFd: readiness-based I/O on any descriptor
mod reactor; // poller readiness -> task wakers, generation-checked tokens

pub mod time; // sleep, timeout, interval on a hierarchical wheel (unsafe: time::timeout)

pub mod signal; // ctrl_c, unix::signal: one handler per signal, a self-pipe, every listener woken

mod driver; // what a parked scheduler blocks in: reactor + timers

// Layer 2: tasks and where they run.
#[allow(
    unsafe_code,
    reason = "task memory: one allocation, a vtable, an atomic state word"
)]
pub mod task; // tasks, JoinHandle, JoinSet, AbortHandle, Id, spawn, yield_now, the budget

mod blocking; // the blocking thread pool behind spawn_blocking

mod scheduler; // executors (unsafe: scheduler::current_thread, scheduler::multi_thread::queue)

// Layer 3: what users hold.
mod builder; // Builder
mod context; // the thread's current runtime
mod handle; // Handle
mod local_runtime; // LocalRuntime: a !Send current-thread runtime for spawn_local
mod long_poll; // the stall watchdog: Builder::on_long_poll, LongPoll
mod metrics; // RuntimeMetrics: counters read on demand, published by the workers
mod runtime; // Runtime
mod shutdown; // graceful shutdown: the grace period, ShutdownReport, shutdown_started

#[cfg(feature = "criterion")]
mod criterion; // criterion's AsyncExecutor for &Runtime

// Checks of the concurrency core under loom (`--cfg loom`; see `loom.rs`).
#[cfg(all(test, loom))]
mod loom_tests;

pub use builder::Builder;
pub use context::TryCurrentError;
pub use handle::{EnterGuard, Handle};
pub use local_runtime::LocalRuntime;
pub use long_poll::LongPoll;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use rng::RngSeed;

/// What the entry-point macros expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::rng::TestSeed;
    /// The timer wheel, for the fuzz targets in `fuzz/` (`--cfg fuzzing` only).
    #[cfg(fuzzing)]
    pub use crate::time::wheel::{FuzzKey, FuzzWheel};
}
pub use runtime::Runtime;
pub use runtime_macros::{main, test};
pub use shutdown::{ShutdownReport, ShutdownStarted, shutdown_started};
pub use task::{spawn, spawn_blocking};
