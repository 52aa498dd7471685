//! The stall watchdog, `Builder::on_long_poll`: a poll that blocks its thread is reported
//! with the task's id and name; well-behaved tasks, `block_on`'s own future and blocking
//! jobs are not; a panicking callback does not take the worker down.
//!
//! Thresholds are far below the stalls and far above a normal poll, so a loaded machine
//! neither hides a stall nor invents one.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use runtime::LongPoll;
use runtime::task::Builder;
use tests::rt::Flavor;
use tests::rt_test;

/// What the callback saw: (id, name, duration) per report.
type Reports = Arc<Mutex<Vec<(runtime::task::Id, Option<String>, Duration)>>>;

/// A runtime of `flavor` whose watchdog records into the returned list.
fn watched(flavor: Flavor, threshold: Duration) -> (runtime::Runtime, Reports) {
    let reports = Reports::default();
    let sink = reports.clone();
    let rt = flavor
        .builder()
        .on_long_poll(threshold, move |poll: &LongPoll| {
            let entry = (poll.id(), poll.name().map(str::to_owned), poll.duration());
            sink.lock().unwrap().push(entry);
        })
        .build()
        .unwrap();
    (rt, reports)
}

rt_test! {
    // Proves that a `std::thread::sleep(200ms)` inside a task is reported once, with the
    // task's id and name and a duration of at least the sleep, and that its neighbours
    // (short polls) are not.
    fn a_blocking_sleep_in_a_task_is_reported_with_its_name(flavor) {
        let (rt, reports) = watched(flavor, Duration::from_millis(100));
        let sleeper = Builder::new()
            .name("sleeper")
            .spawn_on(async { thread::sleep(Duration::from_millis(200)) }, rt.handle())
            .unwrap();
        let id = sleeper.id();
        rt.block_on(async {
            for _ in 0..10 {
                runtime::spawn(async {}).await.unwrap();
            }
            sleeper.await.unwrap();
        });
        drop(rt);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let (reported_id, name, duration) = &reports[0];
        assert_eq!(*reported_id, id);
        assert_eq!(name.as_deref(), Some("sleeper"));
        assert!(*duration >= Duration::from_millis(200), "{duration:?}");
    }

    // Proves that a well-behaved server reports nothing: a TCP echo server with 8 clients
    // doing 50 round trips each, plus timers and yields, stays under the threshold.
    fn a_well_behaved_server_reports_nothing(flavor) {
        let (rt, reports) = watched(flavor, Duration::from_millis(250));
        rt.block_on(async {
            let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    runtime::spawn(async move {
                        let (mut r, mut w) = (&stream, &stream);
                        let _ = futures_util::io::copy(&mut r, &mut w).await;
                    });
                }
            });
            let clients: Vec<_> = (0..8)
                .map(|_| {
                    runtime::spawn(async move {
                        let mut stream = net::TcpStream::connect(addr).await.unwrap();
                        let mut buf = [0u8; 64];
                        for i in 0..50u8 {
                            stream.write_all(&[i; 64]).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                            assert_eq!(buf, [i; 64]);
                            if i % 10 == 0 {
                                runtime::time::sleep(Duration::from_millis(1)).await;
                            }
                            runtime::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.abort();
        });
        drop(rt);
        assert!(reports.lock().unwrap().is_empty(), "{:?}", reports.lock().unwrap());
    }

    // Proves the documented scope: `block_on`'s own future and `spawn_blocking` closures
    // may block as long as they like without a report (neither is a task poll).
    fn block_on_and_blocking_jobs_are_not_reported(flavor) {
        let (rt, reports) = watched(flavor, Duration::from_millis(50));
        rt.block_on(async {
            thread::sleep(Duration::from_millis(120));
            runtime::spawn_blocking(|| thread::sleep(Duration::from_millis(120)))
                .await
                .unwrap();
        });
        drop(rt);
        assert!(reports.lock().unwrap().is_empty(), "{:?}", reports.lock().unwrap());
    }

    // Proves that a panicking callback does not kill the worker silently: the panic is
    // caught (the panic hook prints it), and the runtime goes on running tasks after it.
    fn a_panicking_callback_leaves_the_runtime_running(flavor) {
        let rt = flavor
            .builder()
            .on_long_poll(Duration::from_millis(30), |_: &LongPoll| panic!("callback panics"))
            .build()
            .unwrap();
        let total = rt.block_on(async {
            let stalls: Vec<_> = (0..2)
                .map(|_| runtime::spawn(async { thread::sleep(Duration::from_millis(80)) }))
                .collect();
            for stall in stalls {
                stall.await.unwrap();
            }
            let mut total = 0;
            for i in 0..100 {
                total += runtime::spawn(async move { i }).await.unwrap();
            }
            total
        });
        assert_eq!(total, 4950);
    }
}

// Proves the callback gets what `LongPoll` promises for an unnamed task: its id, no name.
#[test]
fn an_unnamed_task_is_reported_without_a_name() {
    let (rt, reports) = watched(Flavor::CurrentThread, Duration::from_millis(30));
    let task = rt.spawn(async { thread::sleep(Duration::from_millis(80)) });
    let id = task.id();
    rt.block_on(task).unwrap();
    drop(rt);
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!((reports[0].0, reports[0].1.as_deref()), (id, None));
}
