//! `spawn_blocking` and the blocking pool, seen from the runtime: results, panics, the
//! thread limit, and how shutdown waits for (or abandons) blocking jobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use runtime::task::JoinHandle;
use tests::rt_test;

rt_test! {
    // Proves that a blocking closure runs off the runtime's thread and its result comes
    // back through the JoinHandle (a wake from a pool thread unparks the runtime).
    async fn spawn_blocking_returns_its_result_through_the_join_handle() {
        let runtime_thread = thread::current().id();
        let (value, ran_on) = runtime::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(10));
            (42, thread::current().id())
        })
        .await
        .unwrap();
        assert_eq!(value, 42);
        assert_ne!(ran_on, runtime_thread, "the blocking job ran on the runtime's thread");
    }

    // Proves that a panicking blocking closure becomes a JoinError with is_panic() and
    // its payload, and the pool keeps serving jobs afterwards.
    async fn panicking_blocking_closure_reports_is_panic() {
        let err = runtime::spawn_blocking(|| -> u8 { panic!("blocking boom") })
            .await
            .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"blocking boom"));
        assert_eq!(runtime::spawn_blocking(|| 7).await.unwrap(), 7);
    }

    // Proves that many concurrent blocking jobs all complete under max_blocking_threads,
    // and no more than that many run at once.
    // Steps: 64 jobs each sleep 20 ms with max_blocking_threads(8); every job counts
    // itself in and out, recording the most running at once.
    fn many_blocking_jobs_complete_within_max_blocking_threads(flavor) {
        const JOBS: usize = 64;
        const MAX: usize = 8;
        let rt = flavor.builder().max_blocking_threads(MAX).build().unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle<usize>> = (0..JOBS)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                rt.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        rt.block_on(async {
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.await.unwrap(), i);
            }
        });
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=MAX).contains(&peak), "{peak} jobs ran at once, limit {MAX}");
    }

    // Proves that shutdown_timeout returns at its deadline while a blocking job is still
    // running, instead of waiting for the job (a generous bound: well under the job's 2 s).
    // Steps: a job signals that it started, then sleeps 2 s; once it has started, the
    // runtime is shut down with a 50 ms timeout.
    fn shutdown_timeout_returns_while_a_blocking_job_still_runs(flavor) {
        let rt = flavor.build();
        let (started_tx, started) = mpsc::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        drop(rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_secs(2));
            done.store(true, Ordering::SeqCst);
        }));
        started.recv().unwrap();
        let begin = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(50));
        let took = begin.elapsed();
        assert!(!finished.load(Ordering::SeqCst), "shutdown waited for the job");
        assert!(took < Duration::from_millis(1500), "shutdown_timeout took {took:?}");
    }

    // Proves that dropping the runtime (no timeout) waits for a running blocking job to
    // finish, so the job's effects are visible right after the drop.
    fn runtime_drop_waits_for_running_blocking_jobs(flavor) {
        let rt = flavor.build();
        let (started_tx, started) = mpsc::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        drop(rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(100));
            done.store(true, Ordering::SeqCst);
        }));
        started.recv().unwrap();
        drop(rt);
        assert!(finished.load(Ordering::SeqCst), "drop returned before the job finished");
    }

    // Proves that blocking jobs still queued (not started) when the runtime shuts down
    // are dropped unrun, and their JoinHandles resolve to cancelled.
    // Steps: with one blocking thread, a first job holds it until released; five more
    // jobs queue behind it; the runtime shuts down with a short timeout.
    fn queued_blocking_jobs_are_cancelled_at_shutdown(flavor) {
        let rt = flavor.builder().max_blocking_threads(1).build().unwrap();
        let (started_tx, started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            let _ = released.recv_timeout(Duration::from_secs(5));
        });
        started.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<JoinHandle<()>> = (0..5)
            .map(|_| {
                let ran = ran.clone();
                rt.spawn_blocking(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        rt.shutdown_timeout(Duration::from_millis(10));
        release.send(()).unwrap();
        for handle in queued {
            let result = handle.now_or_never().expect("cancelled by the shutdown");
            assert!(result.unwrap_err().is_cancelled());
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a queued job ran after shutdown");
        drop(first);
    }

    // Proves that spawn_blocking through a Handle kept past the runtime's drop does not
    // run the closure and resolves to cancelled.
    fn spawn_blocking_after_runtime_drop_is_cancelled(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        drop(rt);
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let task = handle.spawn_blocking(move || flag.store(true, Ordering::SeqCst));
        let result = task.now_or_never().expect("cancelled at once");
        assert!(result.unwrap_err().is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
    }

    // Proves that a blocking closure runs inside its runtime's context, as in tokio: it
    // can get the current `Handle` and spawn onto the runtime from the pool thread.
    async fn blocking_closures_run_in_the_runtime_context() {
        let spawned = runtime::spawn_blocking(|| {
            let handle = runtime::Handle::current();
            handle.spawn(async { 40 })
        })
        .await
        .unwrap();
        assert_eq!(spawned.await.unwrap() + 2, 42);
    }
}
