//! A runtime dropped (or shut down in the background) from inside itself: from one of its
//! own tasks, or inside its own `block_on`. Waiting there would wait for this very thread,
//! so the runtime shuts down without waiting: every task is dropped, every descriptor
//! closed, nothing keeps running as a zombie. A blocking drop panics with a clear message,
//! as tokio's does; `shutdown_background` does not.
//!
//! Regression tests for the defect where such a drop returned early and left 100 pending
//! tasks (and their 200 socket descriptors, the poller and its waker) alive forever.

use std::io::Read;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::Runtime;
use runtime::io::AsyncFd;
use tests::rt::{DropCounter, Flavor, panic_message};
use tests::rt_test;

const TASKS: usize = 100;

/// Spawns `TASKS` tasks, each waiting forever to read its half of a socket pair; returns
/// the other halves.
fn spawn_socket_holders(rt: &Runtime, drops: &DropCounter) -> Vec<StdUnixStream> {
    (0..TASKS)
        .map(|_| {
            let (ours, theirs) = StdUnixStream::pair().unwrap();
            theirs.set_nonblocking(true).unwrap();
            let guard = drops.guard();
            rt.spawn(async move {
                let _guard = guard;
                let fd = AsyncFd::new(theirs).unwrap();
                let _ = fd.readable().await;
                std::future::pending::<()>().await;
            });
            ours
        })
        .collect()
}

/// Waits (bounded) until every task was dropped and every peer sees end-of-file, which
/// proves the tasks' descriptors were closed.
fn assert_all_closed(drops: &DropCounter, peers: Vec<StdUnixStream>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while drops.count() < TASKS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(drops.count(), TASKS, "every pending future was dropped");
    for mut peer in peers {
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            peer.read(&mut [0; 1]).unwrap(),
            0,
            "the task's socket was closed"
        );
    }
}

rt_test! {
    // Proves that dropping the runtime from one of its own tasks drops every task and
    // closes their descriptors, and the drop panics with a message saying why.
    // Steps: 100 tasks each hold a socket; a task that owns the Runtime drops it; the
    // handle's block_on gets that task's panic; then all 100 futures are gone and every
    // socket reads end-of-file at its peer.
    fn dropping_the_runtime_in_its_own_task_shuts_it_down(flavor) {
        let rt = flavor.build();
        let drops = DropCounter::new();
        let peers = spawn_socket_holders(&rt, &drops);
        let handle = rt.handle().clone();
        // Spawned inside block_on: a shut-down runtime refuses new block_on calls.
        let err = handle
            .block_on(async { handle.spawn(async move { drop(rt) }).await })
            .unwrap_err();
        let message = panic_message(&*err.into_panic());
        assert!(message.contains("dropped from inside itself"), "{message}");
        drop(handle);
        assert_all_closed(&drops, peers);
    }

    // Proves the same for a drop inside the runtime's own block_on (through a Handle).
    fn dropping_the_runtime_inside_its_block_on_shuts_it_down(flavor) {
        let rt = flavor.build();
        let drops = DropCounter::new();
        let peers = spawn_socket_holders(&rt, &drops);
        let handle = rt.handle().clone();
        let slot = Arc::new(Mutex::new(Some(rt)));
        let inner = slot.clone();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle.block_on(async move {
                runtime::task::yield_now().await;
                drop(inner.lock().unwrap().take());
            })
        }));
        let message = panic_message(&*panicked.unwrap_err());
        assert!(message.contains("dropped from inside itself"), "{message}");
        drop(handle);
        assert_all_closed(&drops, peers);
    }

    // Proves that shutdown_background from inside a task does not panic and still shuts
    // everything down (when the scheduler is free: at once on multi-thread, when the
    // block_on holding the core returns on current-thread).
    fn shutdown_background_in_its_own_task_shuts_it_down(flavor) {
        let rt = flavor.build();
        let drops = DropCounter::new();
        let peers = spawn_socket_holders(&rt, &drops);
        let handle = rt.handle().clone();
        let result =
            handle.block_on(async { handle.spawn(async move { rt.shutdown_background() }).await });
        match flavor {
            // The task may itself be cancelled by the shutdown it started.
            Flavor::MultiThread => assert!(result.is_ok() || result.unwrap_err().is_cancelled()),
            Flavor::CurrentThread => result.unwrap(),
        }
        drop(handle);
        assert_all_closed(&drops, peers);
    }
}
