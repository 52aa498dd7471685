//! Dropping a runtime gives back every descriptor and thread it took.
//!
//! Its own test binary, with a single test, because it counts the descriptors and threads
//! of the whole process: other tests running beside it would open and close their own.

use std::future::pending;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use runtime::io::AsyncFd;
use runtime::time::sleep;
use tests::rt::{Flavor, baseline_counts_after, settled_counts, with_hang_guard};

/// One runtime's life: tasks (finished and still parked), an AsyncFd with traffic, a
/// sleep, a pending timer, and a blocking job; then the drop.
fn one_cycle(flavor: Flavor) {
    let rt = flavor
        .builder()
        .thread_keep_alive(Duration::from_millis(1))
        .build()
        .unwrap();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let sum = rt.block_on(async move {
        let fd = AsyncFd::new(ours).unwrap();
        theirs.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        fd.read_with(|mut s| std::io::Read::read(&mut s, &mut buf))
            .await
            .unwrap();
        // Parked when the runtime drops: on I/O, on a timer, on nothing.
        drop(runtime::spawn(async move {
            let _ = fd.readable().await;
            drop(theirs);
        }));
        drop(runtime::spawn(sleep(Duration::from_secs(3600))));
        drop(runtime::spawn(pending::<()>()));
        sleep(Duration::from_micros(200)).await;
        let task = runtime::spawn(async { 20 });
        let blocking = runtime::spawn_blocking(|| 22);
        task.await.unwrap() + blocking.await.unwrap()
    });
    assert_eq!(sum, 42);
    drop(rt);
}

// Proves that building, using and dropping a runtime 1,000 times, alternating the two
// flavors, leaves the process with exactly the descriptors and threads it had before:
// the poller, its waker, every registration, every worker and blocking thread and every
// task's resources are released by the drop.
// Steps: one warm-up cycle per flavor (lazy process-wide state); record /proc/self/fd
// and /proc/self/task counts (settled: see `baseline_counts_after`); run the cycles; compare, midway and at the end.
#[test]
fn runtime_drop_returns_fd_and_thread_counts_to_baseline() {
    with_hang_guard(|| {
        let baseline = baseline_counts_after(|| Flavor::ALL.into_iter().for_each(one_cycle));
        let cycles = 1000; // the figure: a few seconds even in a debug build
        for cycle in 0..cycles {
            one_cycle(Flavor::ALL[cycle % 2]);
            if cycle == cycles / 2 {
                assert_eq!(settled_counts(baseline), baseline, "(fds, threads) midway");
            }
        }
        assert_eq!(
            settled_counts(baseline),
            baseline,
            "(fds, threads) after {cycles} cycles"
        );
    });
}
