//! `RuntimeMetrics` on both flavors: every figure moves when what it counts happens and
//! comes back when it ends. Worker counts are published when a worker parks (and every 61
//! polls), so checks on them wait, bounded, for the figure rather than assume a timing.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use runtime::task::yield_now;
use runtime::{Builder, RuntimeMetrics};
use tests::rt::Flavor;
use tests::rt_test;

const LIMIT: Duration = Duration::from_secs(20);

/// Polls `read` (from the test's thread or a task; it only reads atomics and locks) until
/// `done` accepts the value or `LIMIT` passes; returns the last value read.
async fn eventually<T: std::fmt::Debug>(
    what: &str,
    mut read: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let give_up = Instant::now() + LIMIT;
    loop {
        let value = read();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < give_up,
            "{what}: still {value:?} after {LIMIT:?}"
        );
        runtime::time::sleep(Duration::from_millis(2)).await;
    }
}

fn total_polls(metrics: &RuntimeMetrics) -> u64 {
    metrics.workers().map(|w| w.poll_count()).sum()
}

rt_test! {
    // Proves: `num_workers` is 1 on the current-thread flavor and the configured count on
    // the multi-thread one, with `worker(i)` defined exactly for `0..num_workers()`.
    fn workers_are_counted(flavor) {
        let rt = flavor.build();
        let metrics = rt.metrics();
        let expected = match flavor {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread => 2,
        };
        assert_eq!(metrics.num_workers(), expected);
        assert_eq!(metrics.workers().count(), expected);
        assert!(metrics.worker(expected - 1).is_some());
        assert!(metrics.worker(expected).is_none());
        assert_eq!(metrics.worker(expected - 1).unwrap().index(), expected - 1);
    }

    // Proves: `spawned_tasks_count` counts every spawn and `num_alive_tasks` the tasks not
    // yet finished: 10 parked tasks are alive, and none once they have finished.
    async fn spawned_and_alive_tasks() {
        let metrics = runtime::Handle::current().metrics();
        let spawned_before = metrics.spawned_tasks_count();
        assert_eq!(metrics.num_alive_tasks(), 0);
        let (senders, tasks): (Vec<_>, Vec<_>) = (0..10)
            .map(|_| {
                let (tx, rx) = oneshot::channel::<()>();
                (tx, runtime::spawn(async move { rx.await.unwrap() }))
            })
            .unzip();
        assert_eq!(metrics.spawned_tasks_count(), spawned_before + 10);
        assert_eq!(metrics.num_alive_tasks(), 10);
        senders.into_iter().for_each(|tx| tx.send(()).unwrap());
        for task in tasks {
            task.await.unwrap();
        }
        eventually("alive tasks", || metrics.num_alive_tasks(), |n| *n == 0).await;
        assert_eq!(metrics.spawned_tasks_count(), spawned_before + 10);
    }

    // Proves: 20 tasks yielding 50 times each are at least 20 x 51 polls, and the workers
    // count parks once idle.
    async fn polls_and_parks_are_counted() {
        let metrics = runtime::Handle::current().metrics();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                runtime::spawn(async {
                    for _ in 0..50 {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        eventually("task polls", || total_polls(&metrics), |n| *n >= 20 * 51).await;
        let parks = |m: &RuntimeMetrics| m.workers().map(|w| w.park_count()).sum::<u64>();
        eventually("parks", || parks(&metrics), |n| *n >= 1).await;
    }

    // Proves: a task that keeps a worker busy for 30 ms shows up as at least 30 ms of busy
    // time, and time asleep does not.
    async fn busy_time_counts_work_not_sleep() {
        let metrics = runtime::Handle::current().metrics();
        let busy = |m: &RuntimeMetrics| {
            m.workers().map(|w| w.total_busy_duration()).sum::<Duration>()
        };
        let before = busy(&metrics);
        runtime::spawn(async {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(30) {
                std::hint::spin_loop();
            }
        })
        .await
        .unwrap();
        let after = eventually(
            "busy time",
            || busy(&metrics),
            |b| *b >= before + Duration::from_millis(30),
        )
        .await;
        // Asleep for 300 ms with nothing to do: the busy time grows by far less.
        let asleep_from = Instant::now();
        runtime::time::sleep(Duration::from_millis(300)).await;
        let grown = busy(&metrics).saturating_sub(after);
        let workers = u32::try_from(metrics.num_workers()).unwrap();
        assert!(
            grown < asleep_from.elapsed() * workers,
            "busy time grew by {grown:?} over a {:?} sleep",
            asleep_from.elapsed()
        );
    }

    // Proves: a registered descriptor counts as an I/O source until dropped, and a
    // datagram's arrival counts as a dispatched event.
    async fn io_sources_and_events() {
        let metrics = runtime::Handle::current().metrics();
        let sources = metrics.io_registered_sources();
        let a = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(metrics.io_registered_sources(), sources + 2);
        let events = metrics.io_events_dispatched();
        let mut buf = [0; 4];
        let recv = b.recv_from(&mut buf);
        a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
        recv.await.unwrap();
        eventually("events", || metrics.io_events_dispatched(), |n| *n > events).await;
        drop((a, b));
        assert_eq!(metrics.io_registered_sources(), sources);
    }
}

// Proves: the blocking pool's figures follow its jobs: with one thread allowed, a running
// job is one busy thread and a second job waits in the queue; afterwards the thread idles.
#[test]
fn blocking_pool_threads_idle_and_queue() {
    for flavor in Flavor::ALL {
        let rt = flavor.builder().max_blocking_threads(1).build().unwrap();
        let metrics = rt.metrics();
        assert_eq!(metrics.num_blocking_threads(), 0);
        // A job that waits for the test's word, bounded so a failing check cannot hang it.
        let (release, released) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || released.recv_timeout(LIMIT).is_ok());
        let second = rt.spawn_blocking(|| ());
        let counts = || {
            (
                metrics.num_blocking_threads(),
                metrics.blocking_queue_depth(),
                metrics.num_idle_blocking_threads(),
            )
        };
        // (threads, queued, idle): one thread busy with the first job (once it has taken
        // it: both jobs are queued until then), the second queued.
        let give_up = Instant::now() + LIMIT;
        while counts() != (1, 1, 0) && Instant::now() < give_up {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(counts(), (1, 1, 0), "{flavor:?}");
        release.send(()).unwrap();
        rt.block_on(async {
            assert!(first.await.unwrap(), "the job was released");
            second.await.unwrap();
            eventually(
                "idle thread",
                || metrics.num_idle_blocking_threads(),
                |n| *n == 1,
            )
            .await;
        });
        assert_eq!(metrics.blocking_queue_depth(), 0);
    }
}

// Proves: on the current-thread flavor, tasks spawned from another thread while nobody is
// inside `block_on` wait in the global (inject) queue, and leave it once it runs.
#[test]
fn global_queue_depth_counts_spawns_from_outside() {
    let rt = Flavor::CurrentThread.build();
    let metrics = rt.metrics();
    let handle = rt.handle().clone();
    let tasks = thread::spawn(move || (0..5).map(|_| handle.spawn(async {})).collect::<Vec<_>>())
        .join()
        .unwrap();
    assert_eq!(metrics.global_queue_depth(), 5);
    rt.block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(metrics.global_queue_depth(), 0);
}

// Proves: a worker's `local_queue_depth` is its queue's length: on a single worker (no
// thief), a task that spawns 5 tasks leaves 4 in the queue (the last is in the LIFO slot,
// run next, as tokio's).
#[test]
fn local_queue_depth_is_the_workers_queue() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let metrics = rt.metrics();
    let (tx, rx) = mpsc::channel();
    rt.block_on(async move {
        runtime::spawn(async move {
            let tasks: Vec<_> = (0..5).map(|_| runtime::spawn(async {})).collect();
            tx.send(metrics.worker(0).unwrap().local_queue_depth())
                .unwrap();
            for task in tasks {
                task.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    assert_eq!(rx.recv().unwrap(), 4);
}

// Proves: `Debug` on the metrics shows the figures by name.
#[test]
fn debug_names_the_figures() {
    let rt = Flavor::CurrentThread.build();
    let text = format!("{:?} {:?}", rt.metrics(), rt.metrics().worker(0).unwrap());
    for field in [
        "num_workers: 1",
        "num_alive_tasks: 0",
        "poll_count",
        "total_busy_duration",
    ] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
}
