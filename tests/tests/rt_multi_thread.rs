//! The multi-thread flavor as a user sees it: its builder options, where tasks and
//! `block_on` run, parallelism, misuse that must panic clearly, and shutdown.
//!
//! Flavor-specific on purpose, so no `rt_test!`: each case is about something only this
//! flavor has (worker threads and their hooks, two tasks running at once, a worker stuck
//! in a task) or refuses (spawn_local, block_on on a worker). Behaviour both flavors share
//! is tested with `rt_test!` in the `rt_*` files.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use runtime::{Builder, Runtime};
use tests::rt::{expect_panic, with_hang_guard};

// Proves that zero workers is refused with InvalidInput at build time, not a panic.
#[test]
fn zero_worker_threads_is_invalid_input() {
    let err = Builder::new_multi_thread()
        .worker_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("worker_threads"), "{err}");
}

// Proves that `Runtime::new()` is the multi-thread flavor with one worker per core: its
// tasks run off the calling thread, on threads named like the builder's default.
#[test]
fn runtime_new_runs_tasks_on_worker_threads() {
    with_hang_guard(|| {
        let rt = Runtime::new().unwrap();
        let here = thread::current().id();
        let (id, name) = rt.block_on(async {
            runtime::spawn(async {
                let me = thread::current();
                (me.id(), me.name().map(str::to_owned))
            })
            .await
            .unwrap()
        });
        assert_ne!(id, here, "a spawned task runs on a worker");
        assert_eq!(name.as_deref(), Some("runtime-worker"));
    });
}

// Proves that worker_threads(n) starts exactly n workers, each running the start hook
// before any task and the stop hook after its last, and that thread names and stack
// sizes are applied (a task on a 4 MiB worker can use 3 MiB of stack).
#[test]
fn builder_options_apply_to_the_workers() {
    with_hang_guard(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let names = Arc::new(AtomicUsize::new(0));
        let rt = {
            let (started, stopped, names) = (started.clone(), stopped.clone(), names.clone());
            Builder::new_multi_thread()
                .worker_threads(3)
                .thread_name_fn(move || format!("io-{}", names.fetch_add(1, Ordering::SeqCst)))
                .thread_stack_size(4 * 1024 * 1024)
                .on_thread_start(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                })
                .on_thread_stop(move || {
                    stopped.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap()
        };
        let name = rt.block_on(async {
            runtime::spawn(async {
                assert_eq!(use_stack(), 3 * 1024 * 1024);
                thread::current().name().map(str::to_owned)
            })
            .await
            .unwrap()
        });
        assert!(name.is_some_and(|n| n.starts_with("io-")));
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "one start hook per worker"
        );
        drop(rt);
        assert_eq!(
            stopped.load(Ordering::SeqCst),
            3,
            "every worker stopped, hook run"
        );
    });
}

/// Puts 3 MiB on the stack (more than a default 2 MiB thread has) and reads it back.
#[inline(never)]
fn use_stack() -> usize {
    let mut big = [1u8; 3 * 1024 * 1024];
    std::hint::black_box(&mut big);
    big.iter().map(|&b| usize::from(b)).sum()
}

// Proves that the workers run tasks in parallel: two tasks that each wait (blocking) for
// the other at a barrier both finish, which one worker could never do.
#[test]
fn two_workers_run_two_tasks_at_once() {
    with_hang_guard(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                rt.spawn(async move {
                    barrier.wait();
                })
            })
            .collect();
        rt.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
    });
}

// Proves that `block_on` inside a worker (a task) is a clear panic, as in tokio, and
// that the panic stays in that task: the runtime goes on.
#[test]
fn block_on_inside_a_worker_panics_clearly() {
    with_hang_guard(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let err = rt
            .block_on(rt.spawn(async move { handle.block_on(async { 1 }) }))
            .unwrap_err();
        assert!(err.is_panic());
        let message = tests::rt::panic_message(&*err.into_panic());
        assert!(message.contains("within a runtime"), "{message}");
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    });
}

// Proves that spawn_local on a multi-thread runtime is a clear panic that names the
// alternatives, never a silent cancellation.
#[test]
fn spawn_local_on_a_multi_thread_runtime_panics_naming_the_alternative() {
    with_hang_guard(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let message = rt.block_on(async { expect_panic(|| runtime::task::spawn_local(async {})) });
        assert!(message.contains("build_local"), "{message}");
        assert!(message.contains("spawn"), "{message}");
    });
}

// Proves that `shutdown_timeout` returns when its time is up even if a worker is stuck
// in a task that never yields, detaching that worker instead of waiting for it.
#[test]
fn shutdown_timeout_detaches_a_stuck_worker() {
    with_hang_guard(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (entered_tx, entered) = std::sync::mpsc::channel();
        rt.spawn(async move {
            entered_tx.send(()).unwrap();
            thread::sleep(Duration::from_secs(3)); // a task that blocks its worker
        });
        entered.recv().unwrap();
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        // The hang guard bounds the test; this only documents that it did not wait 3 s.
        assert!(start.elapsed() < Duration::from_secs(3));
    });
}
