//! `sleep` and `sleep_until`: many timers at once, never early, far-future and past
//! deadlines, `Sleep::reset`, and timers registered from another thread.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{Either, select};
use runtime::Handle;
use runtime::task::JoinHandle;
use runtime::time::{Instant, sleep, sleep_until, timeout};
use tests::rt::{Lcg, expect_panic, oneshot, poll_once, thread_waker};
use tests::rt_test;

const TWENTY_YEARS: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);

rt_test! {
    // Proves that 20,000 concurrent sleeps of spread durations (0 to 50 ms, with
    // sub-millisecond parts) all complete, and none completes before its deadline.
    async fn twenty_thousand_concurrent_sleeps_complete_and_none_is_early() {
        const SLEEPS: usize = 20_000;
        let mut durations = Lcg::new(0x5eed);
        let completed = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<JoinHandle<()>> = (0..SLEEPS)
            .map(|_| {
                let duration = Duration::from_micros(durations.below(50_001));
                let completed = completed.clone();
                runtime::spawn(async move {
                    let start = Instant::now();
                    let timer = sleep(duration);
                    let deadline = timer.deadline();
                    assert!(deadline >= start + duration, "deadline before start + duration");
                    timer.await;
                    let woke = Instant::now();
                    assert!(woke >= deadline, "woke {:?} early", deadline - woke);
                    completed.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(completed.load(Ordering::SeqCst), SLEEPS);
    }

    // Proves that sleep_until a deadline in the past completes on the first poll, and
    // reports it is elapsed before being polled.
    async fn sleep_until_a_past_deadline_completes_on_the_first_poll() {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("the monotonic clock is past 1 s");
        let mut timer = sleep_until(past);
        assert_eq!(timer.deadline(), past);
        assert!(timer.is_elapsed());
        assert_eq!(poll_once(&mut timer), Poll::Ready(()));
        assert!(timer.is_elapsed());
        assert_eq!(poll_once(&mut sleep(Duration::ZERO)), Poll::Ready(()));
    }

    // Proves that sleep(Duration::MAX) neither panics nor overflows: its deadline lies
    // decades ahead, it is not elapsed, and it stays pending (a 10 ms timeout around it
    // elapses).
    async fn sleep_duration_max_does_not_panic_and_stays_pending() {
        let far = sleep(Duration::MAX);
        assert!(far.deadline() > Instant::now() + TWENTY_YEARS);
        assert!(!far.is_elapsed());
        assert!(timeout(Duration::from_millis(10), far).await.is_err());
        let far_until = sleep_until(Instant::now() + TWENTY_YEARS);
        assert!(timeout(Duration::from_millis(10), far_until).await.is_err());
    }

    // Proves that Sleep::reset to an earlier deadline re-arms the timer: a sleep polled
    // once at 1 hour, reset to 20 ms, completes (not early) instead of waiting the hour.
    async fn reset_to_an_earlier_deadline_rearms_the_timer() {
        let mut timer = pin!(sleep(Duration::from_secs(3600)));
        let polled = std::future::poll_fn(|cx| Poll::Ready(timer.as_mut().poll_unpin(cx))).await;
        assert!(polled.is_pending(), "registered at one hour");
        let earlier = Instant::now() + Duration::from_millis(20);
        timer.as_mut().reset(earlier);
        assert_eq!(timer.deadline(), earlier);
        assert!(!timer.is_elapsed());
        let rearmed = timeout(Duration::from_secs(20), timer.as_mut()).await;
        assert!(rearmed.is_ok(), "the reset sleep did not fire at its new deadline");
        assert!(Instant::now() >= earlier);
        assert!(timer.is_elapsed());
    }

    // Proves that Sleep::reset re-arms a sleep that already completed, and that a reset
    // to a later deadline is honoured (it does not fire at the old one).
    async fn reset_rearms_a_completed_sleep_and_moves_it_later() {
        let mut timer = pin!(sleep(Duration::from_millis(5)));
        timer.as_mut().await;
        assert!(timer.is_elapsed());
        let next = Instant::now() + Duration::from_millis(20);
        timer.as_mut().reset(next);
        assert!(!timer.is_elapsed());
        assert!(poll_once(&mut timer.as_mut()).is_pending());
        timer.as_mut().await;
        assert!(Instant::now() >= next);

        // Armed at 10 ms, moved to 40 ms before it fires: it must not fire at 10 ms.
        let later = Instant::now() + Duration::from_millis(40);
        timer.as_mut().reset(Instant::now() + Duration::from_millis(10));
        assert!(poll_once(&mut timer.as_mut()).is_pending());
        timer.as_mut().reset(later);
        timer.as_mut().await;
        assert!(Instant::now() >= later, "fired at the old deadline");
    }

    // Proves that dropping a pending sleep cancels its timer: a task that registers a
    // 5 ms sleep, drops it and then waits on nothing is not woken when the 5 ms pass.
    async fn dropped_sleep_never_wakes_its_task() {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let task = runtime::spawn(std::future::poll_fn(move |cx| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                let mut timer = sleep(Duration::from_millis(5));
                assert!(timer.poll_unpin(cx).is_pending());
            }
            Poll::<()>::Pending
        }));
        sleep(Duration::from_millis(30)).await;
        assert_eq!(polls.load(Ordering::SeqCst), 1, "a dropped sleep woke its task");
        task.abort();
    }

    // Proves that a timer registered from a foreign thread (after Handle::enter) with a
    // deadline earlier than the one the runtime is parked until unparks the runtime, so
    // the timer fires on time rather than when the runtime next wakes.
    // Steps: block_on races a 10 s sleep against a oneshot and parks until the 10 s
    // deadline; a std thread registers a 20 ms sleep polled with a thread-unparking
    // waker; when it fires, the thread sends the oneshot. The oneshot must win.
    async fn timer_registered_from_a_foreign_thread_unparks_the_runtime() {
        let handle = Handle::current();
        let (tx, rx) = oneshot::<()>();
        let foreign = thread::spawn(move || {
            let _guard = handle.enter();
            let waker = thread_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            thread::sleep(Duration::from_millis(20)); // let the runtime park first
            let mut timer = sleep(Duration::from_millis(20));
            while timer.poll_unpin(&mut cx).is_pending() {
                thread::park();
            }
            tx.send(());
        });
        match select(pin!(sleep(Duration::from_secs(10))), rx).await {
            Either::Right(_) => {}
            Either::Left(_) => panic!("the foreign timer fired only when the runtime woke"),
        }
        foreign.join().unwrap();
    }
}

rt_test! {
    // Proves that a sleep polled after its runtime was dropped panics with a message
    // saying so, instead of registering with a timer wheel nobody drives (a silent hang).
    fn sleep_polled_after_its_runtime_dropped_panics_instead_of_hanging(flavor) {
        let rt = flavor.build();
        let mut timer = {
            let _guard = rt.enter();
            sleep(Duration::from_millis(10))
        };
        drop(rt);
        let message = expect_panic(|| poll_once(&mut timer));
        assert!(message.contains("shut down"), "{message}");
        // An elapsed deadline needs no timer: it still completes.
        let rt = flavor.build();
        let past = Instant::now();
        let mut done = {
            let _guard = rt.enter();
            sleep_until(past)
        };
        drop(rt);
        assert_eq!(poll_once(&mut done), Poll::Ready(()));
    }

    // Proves that a sleep pending on a foreign thread when its runtime drops is woken by
    // the drop (its next poll then panics with a message), rather than left waiting
    // forever for a wakeup that the dropped timer wheel can no longer send.
    // Steps: a std thread enters the runtime, polls a far sleep with a thread-unparking
    // waker and parks; once it is registered, the runtime is dropped; the thread must
    // wake and report the panic of its next poll.
    fn sleep_pending_on_a_foreign_thread_is_woken_when_its_runtime_drops(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let (registered_tx, registered) = std::sync::mpsc::channel();
        let waiter = thread::spawn(move || {
            let mut timer = {
                let _guard = handle.enter();
                sleep(Duration::MAX) // decades away: the wheel's overflow list
            };
            drop(handle);
            let waker = thread_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(timer.poll_unpin(&mut cx).is_pending());
            registered_tx.send(()).unwrap();
            expect_panic(|| loop {
                if timer.poll_unpin(&mut cx).is_ready() {
                    return;
                }
                thread::park();
            })
        });
        registered.recv().unwrap();
        drop(rt);
        let message = waiter.join().unwrap();
        assert!(message.contains("shut down"), "{message}");
    }

    // Proves that `Sleep::reset` keeps the registered waker, as tokio's does: a future
    // that resets its stored sleep and returns `Pending` without polling it again is
    // still woken at the new deadline. Review finding B6: reset used to cancel the
    // registration, and the task was never woken.
    async fn reset_without_a_new_poll_still_wakes_the_task() {
        let mut timer = Box::pin(sleep(Duration::from_secs(3600)));
        let mut reset_done = false;
        let woke = std::future::poll_fn(|cx| {
            if !reset_done {
                // Register (pending, an hour away), then move the deadline close and
                // return Pending without polling the sleep again.
                assert!(timer.as_mut().poll(cx).is_pending());
                let soon = Instant::now() + Duration::from_millis(5);
                timer.as_mut().reset(soon);
                reset_done = true;
                return Poll::Pending;
            }
            Poll::Ready(())
        });
        let result = timeout(Duration::from_secs(5), woke).await;
        assert!(result.is_ok(), "the task was never woken after the reset");
    }
}
