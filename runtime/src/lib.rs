//! A small async runtime: reactor, executors, tasks, timers, blocking pool.
#![deny(unsafe_code)]

// Timers: the hierarchical timing wheel (driver, sleep, timeout and interval build on it).
mod time;
