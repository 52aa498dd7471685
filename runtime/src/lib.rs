//! A small async runtime: reactor, executors, tasks, timers, blocking pool.
#![deny(unsafe_code)]
