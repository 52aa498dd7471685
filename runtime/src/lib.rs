//! A small async runtime: reactor, executors, tasks, timers, blocking pool.
#![deny(unsafe_code)]

#[allow(
    unsafe_code,
    reason = "task memory: raw allocation, vtable, state word"
)]
pub mod task;
