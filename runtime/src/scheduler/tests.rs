//! Scheduler regressions that need the crate's internals.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use crate::{Builder, Runtime};

fn flavors() -> [Runtime; 2] {
    [
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

// Proves that a wake arriving after shutdown (a foreign thread kept the task's waker)
// releases the task instead of parking it in the inject queue forever, where it would keep
// the scheduler, and through it the task registry, alive: the inject queue is closed at
// shutdown and a push after that drops the task through the normal cancelled path.
#[test]
#[cfg_attr(miri, ignore = "opens an epoll instance")]
fn a_wake_after_shutdown_frees_the_task_and_its_scheduler() {
    for rt in flavors() {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let stored = slot.clone();
        let task = rt.spawn(poll_fn(move |cx| {
            *stored.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        rt.block_on(async {
            while slot.lock().unwrap().is_none() {
                crate::task::yield_now().await;
            }
        });
        let scheduler = rt.handle().inner.task_scheduler();
        drop(task);
        drop(rt);
        let waker = slot.lock().unwrap().take().unwrap();
        waker.wake();
        assert!(
            scheduler.upgrade().is_none(),
            "a task woken after shutdown keeps its scheduler alive"
        );
    }
}
