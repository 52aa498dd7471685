//! What each attribute's flavor runs on, read from the real `runtime`: where spawned tasks
//! run, and how many run at once.
//!
//! The `#[runtime::main]` cases expand functions other than `main` and call them from
//! `#[test]`s; `ui/pass/main_multi_thread.rs` checks a real `fn main`.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The id and name of the thread a spawned task runs on.
async fn spawned_task_thread() -> (ThreadId, Option<String>) {
    runtime::spawn(async {
        let me = thread::current();
        (me.id(), me.name().map(str::to_owned))
    })
    .await
    .expect("the spawned task panicked")
}

/// Whether a task spawned from the calling runtime runs on one of its workers (another
/// thread with the builder's default name) rather than on the calling thread.
async fn spawns_onto_a_worker() -> bool {
    let here = thread::current().id();
    let (id, name) = spawned_task_thread().await;
    id != here && name.as_deref() == Some("runtime-worker")
}

/// Spawns `n` tasks that each wait until all `n` are running; returns once they all met.
///
/// Each waits at most a minute, so a runtime running fewer than `n` at once fails the test
/// instead of hanging it (a hang guard, not a timing assertion).
async fn meet_in_parallel(n: usize) {
    let met = Arc::new((Mutex::new(0), Condvar::new()));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let met = met.clone();
            runtime::spawn(async move {
                let (count, all_here) = &*met;
                let mut count = count.lock().unwrap();
                *count += 1;
                all_here.notify_all();
                let (count, timeout) = all_here
                    .wait_timeout_while(count, Duration::from_secs(60), |count| *count < n)
                    .unwrap();
                let ran = *count;
                // Unlocked before the assertion, so a failure does not poison the others.
                drop(count);
                assert!(!timeout.timed_out(), "only {ran} of {n} tasks ran at once");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a meeting task panicked");
    }
}

// Proves that `#[runtime::test]` is current-thread by default: a spawned task runs on the
// test's own thread.
#[runtime::test]
async fn test_defaults_to_current_thread() {
    let here = thread::current().id();
    assert_eq!(spawned_task_thread().await.0, here);
}

// Proves that `flavor = "multi_thread"` on a test builds the multi-thread runtime.
#[runtime::test(flavor = "multi_thread")]
async fn test_flavor_multi_thread_runs_tasks_on_workers() {
    assert!(spawns_onto_a_worker().await);
}

// Proves that `worker_threads = 3` reaches the builder: three tasks run at once, which
// needs three workers. (The default is one worker per core, so on a machine with three
// cores or more this shows only that the flavor is multi-thread; the expansion's unit test
// pins the builder call itself.)
#[runtime::test(flavor = "multi_thread", worker_threads = 3)]
async fn test_worker_threads_run_tasks_in_parallel() {
    meet_in_parallel(3).await;
}

#[runtime::main]
async fn main_default() -> bool {
    spawns_onto_a_worker().await
}

#[runtime::main(flavor = "current_thread")]
async fn main_current_thread() -> (ThreadId, ThreadId) {
    (thread::current().id(), spawned_task_thread().await.0)
}

#[runtime::main(worker_threads = 3)]
async fn main_worker_threads() {
    meet_in_parallel(3).await;
}

// Proves that `#[runtime::main]` with no flavor builds the multi-thread runtime.
#[test]
fn main_defaults_to_multi_thread() {
    assert!(main_default());
}

// Proves that `flavor = "current_thread"` on main runs spawned tasks on the calling thread.
#[test]
fn main_flavor_current_thread_stays_on_the_calling_thread() {
    let (here, task) = main_current_thread();
    assert_eq!(here, thread::current().id());
    assert_eq!(task, here);
}

// Proves that `worker_threads = N` alone (main's default flavor) reaches the builder; see
// `test_worker_threads_run_tasks_in_parallel` for what it shows on many cores.
#[test]
fn main_worker_threads_run_tasks_in_parallel() {
    main_worker_threads();
}
