//! Unit tests of the current-thread scheduler's core handoff.

use super::*;
use crate::driver::Driver;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

/// A flag a future can wait on, set from any thread.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    fn set(&self) {
        self.set.store(true, Ordering::Release);
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            *self.waker.lock() = Some(cx.waker().clone());
            if self.set.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

fn new_handle() -> Arc<CurrentThread> {
    let (driver, driver_handle) = Driver::new().expect("opening the driver");
    Arc::new(CurrentThread::new(driver, driver_handle, None, None, None))
}

// Proves a `block_on` caller waiting for the core holds one entry in the waiter list,
// however often its future is woken (the list used to grow by one per wake).
// Steps: thread A takes the core and waits on a flag; thread B `block_on`s a future
// that hands its waker to thread C 10,000 times, reading the waiter count on each
// poll; then B completes, and A is released.
#[test]
#[cfg_attr(miri, ignore = "opens an epoll instance")]
fn a_waiting_block_on_holds_one_waiter_entry_however_often_woken() {
    const WAKES: usize = 10_000;
    let handle = new_handle();
    let release = Arc::new(Flag::default());
    let (entered_tx, entered) = mpsc::channel();
    let holder = thread::spawn({
        let (handle, release) = (handle.clone(), release.clone());
        move || {
            handle.block_on(async {
                entered_tx.send(()).unwrap();
                release.wait().await;
            });
        }
    });
    entered
        .recv()
        .expect("thread A entered block_on with the core");

    let (wakers_tx, wakers) = mpsc::channel::<Waker>();
    let waker_thread = thread::spawn(move || {
        for waker in wakers {
            waker.wake();
        }
    });
    let mut polls = 0;
    let mut most_waiters = 0;
    handle.block_on(std::future::poll_fn(|cx| {
        most_waiters = most_waiters.max(handle.waiter_count());
        polls += 1;
        if polls > WAKES {
            return Poll::Ready(());
        }
        wakers_tx.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }));
    let left_behind = handle.waiter_count();
    drop(wakers_tx);
    waker_thread.join().unwrap();
    release.set();
    holder.join().unwrap();
    handle.shutdown();

    assert!(
        most_waiters <= 1,
        "waiter list grew to {most_waiters} entries"
    );
    assert_eq!(left_behind, 0, "a finished block_on left its entry behind");
}
