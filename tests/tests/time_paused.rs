//! Virtual time: `start_paused`, `pause`/`resume`/`advance`, auto-advance and what keeps it
//! off (blocking jobs, pending I/O, `auto_advance(false)`), exact deadlines (no drift),
//! firing order, and the runtime's `Instant` following the paused clock; on both flavors.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runtime::time::{self, Instant, interval, sleep, sleep_until, timeout};
use runtime::{RngSeed, task};
use tests::rt::Flavor;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

tests::rt_test! {
    // Proves that a 24-hour interval runs to its end without waiting a day: a paused clock
    // auto-advances tick by tick (1,440 one-minute ticks, then exactly 24 h of virtual
    // time), and every tick is reported at its exact scheduled instant. The real-time bound
    // is only a generous "it did not actually wait".
    fn a_day_of_interval_ticks_passes_at_once(flavor) {
        let real = std::time::Instant::now();
        flavor.block_on_paused(async {
            let start = Instant::now();
            let mut every = interval(Duration::from_secs(60));
            let mut ticks = 0u32;
            while start.elapsed() < DAY {
                let at = every.tick().await;
                assert_eq!(at, start + Duration::from_secs(60) * ticks, "tick {ticks}");
                ticks += 1;
            }
            assert_eq!(ticks, 24 * 60 + 1, "the immediate tick, then one a minute");
            assert_eq!(start.elapsed(), DAY);
        });
        assert!(real.elapsed() < Duration::from_secs(10), "took {:?}", real.elapsed());
    }

    // Proves there is no drift (tokio #6866): a hundred 10 ms sleeps in a row under a paused
    // clock take exactly one virtual second, each one firing at its exact deadline.
    async fn sleeps_fire_at_their_exact_deadline_without_drift() {
        time::pause();
        let start = Instant::now();
        for i in 1..=100u32 {
            sleep(Duration::from_millis(10)).await;
            assert_eq!(Instant::now(), start + Duration::from_millis(10) * i);
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        time::resume();
    }

    // Proves that `advance(d)` moves the clock by exactly `d`, fires what is due by then
    // and lets it run before returning, while a later sleep stays pending.
    fn advance_fires_exactly_what_is_due(flavor) {
        let rt = flavor.paused_builder().auto_advance(false).build().unwrap();
        rt.block_on(async {
            let start = Instant::now();
            let due = runtime::spawn(sleep(Duration::from_millis(10)));
            let later = runtime::spawn(sleep(Duration::from_millis(11)));
            yield_times(10).await; // both register
            time::advance(Duration::from_millis(10)).await;
            due.await.unwrap();
            assert_eq!(Instant::now(), start + Duration::from_millis(10));
            assert!(!later.is_finished());
            time::advance(Duration::from_millis(1)).await;
            later.await.unwrap();
            assert_eq!(start.elapsed(), Duration::from_millis(11));
        });
    }

    // Proves that with auto-advance off a paused clock stands still: a sleep does not
    // complete however long the runtime idles (real time passes meanwhile), only once the
    // test advances past its deadline (tokio #4522).
    fn without_auto_advance_only_advance_moves_the_clock(flavor) {
        let rt = flavor.paused_builder().auto_advance(false).build().unwrap();
        rt.block_on(async {
            let start = Instant::now();
            let sleeper = runtime::spawn(sleep(Duration::from_secs(1)));
            // The runtime is idle for 50 ms of real time, waiting on a blocking job.
            runtime::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)))
                .await
                .unwrap();
            assert!(!sleeper.is_finished());
            assert_eq!(Instant::now(), start);
            time::advance(Duration::from_millis(999)).await;
            assert!(!sleeper.is_finished());
            time::advance(Duration::from_millis(1)).await;
            sleeper.await.unwrap();
            assert_eq!(start.elapsed(), Duration::from_secs(1));
        });
    }

    // Proves that a wake from another thread is never lost while a paused clock's driver
    // parks (regression: the zero-timeout poll consumed the unpark, then the driver
    // blocked with the woken task queued). A plain thread (no clock hold, unlike a
    // blocking job) answers 5,000 oneshots, each awaited in turn by a task, while
    // the runtime parks with auto-advance off: each answer's wake races the driver's poll.
    fn wakes_from_other_threads_reach_a_paused_driver(flavor) {
        let rt = flavor.paused_builder().auto_advance(false).build().unwrap();
        let (requests, inbox) = std::sync::mpsc::channel::<tests::rt::Sender<u32>>();
        // It spins rather than blocks, to answer within the window where the runtime
        // thread is between deciding to park and blocking.
        let answerer = std::thread::spawn(move || {
            let mut i = 0;
            loop {
                match inbox.try_recv() {
                    Ok(reply) => {
                        reply.send(i);
                        i += 1;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                }
            }
        });
        rt.block_on(async move {
            let task = runtime::spawn(async move {
                for i in 0..5000 {
                    let (reply, answer) = tests::rt::oneshot();
                    requests.send(reply).unwrap();
                    assert_eq!(answer.await, Some(i));
                }
            });
            task.await.unwrap();
        });
        answerer.join().unwrap();
    }

    // Proves that a running blocking job keeps a paused clock still (as tokio): the job
    // takes 100 ms of real time, but an hour's timeout around it does not fire, and no
    // virtual time passes.
    async fn a_blocking_job_keeps_the_clock_from_advancing() {
        time::pause();
        let start = Instant::now();
        let job = runtime::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(100));
            7
        });
        assert_eq!(timeout(HOUR, job).await.unwrap().unwrap(), 7);
        assert_eq!(Instant::now(), start);
    }

    // Proves that ready I/O is dispatched before the clock auto-advances. Steps: a task
    // waits for a byte on a socket; the test writes it and at once sleeps an hour. The
    // runtime is then idle but for the readiness in the kernel: the reader must finish
    // first, with no virtual time passed, before the hour's sleep fires.
    async fn pending_io_runs_before_the_clock_advances() {
        time::pause();
        let start = Instant::now();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let reader = runtime::spawn(async move {
            let reader = runtime::io::AsyncFd::new(b).unwrap();
            let _ready = reader.readable().await.unwrap();
            Instant::now()
        });
        yield_times(10).await; // the reader registers
        (&a).write_all(b"x").unwrap();
        let hour = runtime::spawn(sleep(HOUR));
        let read_at = reader.await.unwrap();
        assert_eq!(read_at, start, "the read finished at virtual time zero");
        hour.await.unwrap();
        assert_eq!(start.elapsed(), HOUR);
    }

    // Proves `timeout` under a paused clock: a pending future times out after exactly its
    // duration, and a future that finishes first (a shorter sleep) wins at its own deadline.
    async fn timeout_elapses_exactly_under_a_paused_clock() {
        time::pause();
        let start = Instant::now();
        assert!(timeout(Duration::from_secs(5), std::future::pending::<()>()).await.is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let won = timeout(Duration::from_secs(5), sleep(Duration::from_secs(1))).await;
        assert!(won.is_ok());
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    }

    // Proves that `Sleep::reset` and `Interval::reset` compute their deadlines on the paused
    // clock: after a day of `advance`, a reset sleep and a reset interval fire exactly their
    // period later in virtual time (not at an instant of the OS clock, which lags a day).
    async fn resets_read_the_paused_clock() {
        time::pause();
        time::advance(DAY).await;
        let start = Instant::now();
        let mut nap = std::pin::pin!(sleep(HOUR));
        nap.as_mut().reset(Instant::now() + Duration::from_secs(5));
        nap.as_mut().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let mut every = interval(Duration::from_secs(7));
        every.tick().await;
        every.reset();
        assert_eq!(every.tick().await, start + Duration::from_secs(12));
        assert_eq!(start.elapsed(), Duration::from_secs(12));
    }

    // Proves that timers with different deadlines fire in deadline order, however they were
    // registered: each task records itself when it wakes (auto-advance moves one deadline
    // at a time and waits for the runtime to be idle again, on both flavors).
    async fn distinct_deadlines_fire_in_deadline_order() {
        time::pause();
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let deadlines_ms = [30u64, 10, 50, 20, 40];
        let tasks: Vec<_> = deadlines_ms
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                runtime::spawn(async move {
                    sleep_until(start + Duration::from_millis(ms)).await;
                    order.lock().unwrap().push((ms, start.elapsed()));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let expected: Vec<_> = [10u64, 20, 30, 40, 50]
            .into_iter()
            .map(|ms| (ms, Duration::from_millis(ms)))
            .collect();
        assert_eq!(*order.lock().unwrap(), expected);
    }

    // Proves that `runtime::time::Instant::now()` inside a paused runtime is the virtual
    // clock (it can run ahead of the OS clock), that `resume` lets it flow again from there,
    // and that outside any runtime it is the OS clock.
    async fn instant_now_follows_the_paused_clock() {
        time::pause();
        let before = Instant::now();
        time::advance(DAY).await;
        assert_eq!(Instant::now(), before + DAY);
        assert!(Instant::now().into_std() > std::time::Instant::now() + HOUR);
        time::resume();
        sleep(Duration::from_millis(1)).await; // real time again
        assert!(before.elapsed() > DAY);
        let outside = std::thread::spawn(Instant::now).join().unwrap();
        assert!(outside.into_std() <= std::time::Instant::now());
    }
}

// Proves that timers with the same deadline fire in the order they were registered, on the
// current-thread flavor where tasks run in wake order (the multi-thread flavor wakes them
// in that order too but may run them in parallel). The tasks register in spawn order.
#[test]
fn equal_deadlines_fire_in_registration_order() {
    Flavor::CurrentThread.run(|flavor| {
        flavor.block_on_paused(async {
            let start = Instant::now();
            let order = Arc::new(Mutex::new(Vec::new()));
            let deadlines_ms = [20u64, 10, 20, 10, 20, 10];
            let tasks: Vec<_> = deadlines_ms
                .into_iter()
                .enumerate()
                .map(|(id, ms)| {
                    let order = order.clone();
                    runtime::spawn(async move {
                        sleep_until(start + Duration::from_millis(ms)).await;
                        order.lock().unwrap().push(id);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*order.lock().unwrap(), [1, 3, 5, 0, 2, 4]);
        });
    });
}

// Proves the documented panics, as tokio's: `advance` and `resume` on a clock that is not
// paused, `pause` twice, and `pause` outside a runtime.
#[test]
fn misuse_panics_with_a_message() {
    let rt = Flavor::CurrentThread.build();
    let message = |f: Box<dyn FnOnce()>| {
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("it panics");
        tests::rt::panic_message(&*payload)
    };
    let handle = rt.handle().clone();
    let h = handle.clone();
    let advance = message(Box::new(move || {
        h.block_on(time::advance(Duration::from_secs(1)));
    }));
    assert!(advance.contains("time is not frozen"), "{advance}");
    let h = handle.clone();
    let resume = message(Box::new(move || {
        let _enter = h.enter();
        time::resume();
    }));
    assert!(resume.contains("time is not frozen"), "{resume}");
    let h = handle.clone();
    let twice = message(Box::new(move || {
        let _enter = h.enter();
        time::pause();
        time::pause();
    }));
    assert!(twice.contains("already frozen"), "{twice}");
    let outside = message(Box::new(time::pause));
    assert!(outside.contains("there is no runtime here"), "{outside}");
}

/// Yields `n` times: lets spawned tasks take their first poll on the current-thread flavor.
async fn yield_times(n: usize) {
    for _ in 0..n {
        task::yield_now().await;
    }
}

/// The interleaving of `tasks` tasks that each yield `yields` times, recorded as the order
/// of (task, step) on a current-thread runtime seeded with `seed`.
fn interleaving(seed: u64, tasks: usize, yields: usize) -> Vec<(usize, usize)> {
    let rt = Flavor::CurrentThread
        .builder()
        .rng_seed(RngSeed::from_u64(seed))
        .build()
        .unwrap();
    rt.block_on(async {
        let trace = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..tasks)
            .map(|id| {
                let trace = trace.clone();
                runtime::spawn(async move {
                    for step in 0..yields {
                        trace.lock().unwrap().push((id, step));
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        Arc::try_unwrap(trace).unwrap().into_inner().unwrap()
    })
}

// Proves that `Builder::rng_seed` makes a current-thread interleaving reproducible: the
// same seed gives the same trace of 6 tasks x 5 yields every time, and different seeds
// give different traces (of 8 seeds, not all alike; each trace is a shuffle of 30 steps).
#[test]
fn rng_seed_reproduces_and_varies_the_interleaving() {
    Flavor::CurrentThread.run(|_| {
        for seed in [1, 42, u64::MAX] {
            assert_eq!(
                interleaving(seed, 6, 5),
                interleaving(seed, 6, 5),
                "seed {seed}"
            );
        }
        let traces: Vec<_> = (1..=8).map(|seed| interleaving(seed, 6, 5)).collect();
        assert!(traces.iter().any(|t| *t != traces[0]), "all 8 seeds alike");
        let fifo: Vec<_> = (0..5).flat_map(|s| (0..6).map(move |t| (t, s))).collect();
        assert!(
            traces.iter().any(|t| *t != fifo),
            "the seed changes nothing"
        );
    });
}
