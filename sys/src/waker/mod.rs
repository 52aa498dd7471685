//! Wakes a thread blocked in [`Poller::wait`](crate::Poller::wait) from any thread.
//!
//! One primitive per family, chosen here once: eventfd on Linux and Android, `EVFILT_USER`
//! on kqueue systems that have always had it, a non-blocking close-on-exec pipe elsewhere
//! (and everywhere under `--cfg sys_force_pipe_waker`, so CI runs the suite on it).
//! Every variant exports `Waker` with `new(&Poller, Token)`, `wake`, `reset`, and is
//! close-on-exec.
//!
//! # Contract
//!
//! - `wake` may be called any number of times from any thread before the poller runs;
//!   wakes coalesce, and a full counter or pipe is not an error (a wake is pending).
//! - The poller then reports the waker's token once; the owner calls `reset` before it
//!   relies on the next wake (a no-op except for the pipe, which must be drained).

#[cfg_attr(
    all(
        any(target_os = "linux", target_os = "android"),
        not(sys_force_pipe_waker)
    ),
    path = "eventfd.rs"
)]
#[cfg_attr(
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly"
    ),
    path = "kqueue.rs"
)]
#[cfg_attr(
    any(target_os = "netbsd", target_os = "openbsd", sys_force_pipe_waker),
    path = "pipe.rs"
)]
mod imp;

pub use imp::Waker;
