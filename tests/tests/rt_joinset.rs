//! `JoinSet`, `AbortHandle` and task ids across the runtime: completion order, panics,
//! aborts, drops, bounded memory, and ids that agree wherever they are read.

use std::collections::HashSet;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use runtime::Builder;
use runtime::task::{self, JoinSet, yield_now};
use runtime::time::sleep;
use tests::rt::{DropCounter, oneshot, panic_message, soak, yield_until};
use tests::rt_test;

rt_test! {
    // Proves that join_next returns tasks in the order they completed, not the order
    // they were spawned. Steps: three tasks wait on their own oneshot; we release 2, wait
    // until it is finished (plus a pause so its runner has woken the set), then 0, then
    // 1; only then do we join.
    async fn join_order_is_completion_order() {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        let mut aborts = Vec::new();
        for label in 0..3 {
            let (tx, rx) = oneshot::<()>();
            senders.push(Some(tx));
            aborts.push(set.spawn(async move {
                rx.await;
                label
            }));
        }
        for label in [2, 0, 1] {
            senders[label].take().unwrap().send(());
            yield_until(|| aborts[label].is_finished()).await;
            sleep(Duration::from_millis(10)).await;
        }
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [2, 0, 1]);
    }

    // Proves that a panicking task surfaces from join_next as a JoinError with is_panic,
    // its payload, and the id of the task that panicked; the other task is unaffected.
    async fn panic_surfaces_as_join_error_with_the_tasks_id() {
        let mut set = JoinSet::new();
        let panicking = set.spawn(async {
            yield_now().await;
            panic!("boom in a set")
        });
        set.spawn(async { 7 });
        let mut oks = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(value) => {
                    assert_eq!(value, 7);
                    oks += 1;
                }
                Err(err) => {
                    assert!(err.is_panic());
                    assert_eq!(err.id(), panicking.id());
                    assert_eq!(panic_message(&*err.into_panic()), "boom in a set");
                }
            }
        }
        assert_eq!(oks, 1);
    }

    // Proves that abort_all makes every unfinished task resolve as cancelled (its future
    // dropped) while a task that finished first keeps its output.
    async fn abort_all_cancels_the_rest_and_keeps_finished_outputs() {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        let done = set.spawn(async { Some(1) });
        yield_until(|| done.is_finished()).await;
        for _ in 0..5 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<Option<i32>>().await
            });
        }
        set.abort_all();
        let (mut cancelled, mut ok) = (0, 0);
        while let Some(result) = set.join_next().await {
            match result {
                Ok(value) => {
                    assert_eq!(value, Some(1));
                    ok += 1;
                }
                Err(err) => {
                    assert!(err.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert_eq!((ok, cancelled), (1, 5));
        assert_eq!(drops.count(), 5);
    }

    // Proves that dropping a set aborts its tasks: every future is dropped.
    async fn dropping_the_set_aborts_its_tasks() {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        yield_now().await;
        drop(set);
        yield_until(|| drops.count() == 10).await;
    }

    // Proves that shutdown aborts every task and returns only once each has finished:
    // all futures are dropped by then and the set is empty.
    async fn shutdown_waits_for_every_task_to_finish() {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        set.shutdown().await;
        assert_eq!(drops.count(), 10);
        assert!(set.is_empty());
    }

    // Proves that try_join_next never waits: None for an empty set and for a set whose
    // task is still running, the result once it has finished.
    async fn try_join_next_returns_only_finished_tasks() {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none());
        let (tx, rx) = oneshot::<u8>();
        set.spawn(async move { rx.await.unwrap() });
        assert!(set.try_join_next().is_none());
        assert_eq!(set.len(), 1);
        tx.send(9);
        let mut got = None;
        yield_until(|| {
            got = set.try_join_next();
            got.is_some()
        })
        .await;
        assert_eq!(got.unwrap().unwrap(), 9);
        assert!(set.is_empty());
    }

    // Proves that len and is_empty count the tasks spawned and not yet joined, including
    // blocking ones.
    async fn len_counts_unjoined_tasks() {
        let mut set = JoinSet::new();
        assert!(set.is_empty());
        assert_eq!(set.len(), 0);
        set.spawn(async { 1 });
        set.spawn(async { 2 });
        set.spawn_blocking(|| 3);
        assert_eq!(set.len(), 3);
        let mut sum = set.join_next().await.unwrap().unwrap();
        assert_eq!(set.len(), 2);
        while let Some(result) = set.join_next().await {
            sum += result.unwrap();
        }
        assert_eq!(sum, 6);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    }

    // Proves that a set running a million short jobs (scaled by SOAK_SCALE) in batches
    // of 1,000, joined as it goes, loses nothing and never holds more than a batch. The
    // slab's capacity staying small is asserted beside the code
    // (`a_million_short_jobs_keep_the_slab_small`).
    async fn a_million_short_jobs_all_join() {
        let total = soak(1_000_000).max(1_000);
        let mut set = JoinSet::new();
        let (mut joined, mut sum) = (0_usize, 0_u64);
        for batch in 0..total / 1_000 {
            for i in 0..1_000_u64 {
                set.spawn(async move { i });
            }
            assert!(set.len() <= 1_000, "set held {} tasks", set.len());
            while let Some(result) = set.join_next().await {
                sum += result.unwrap();
                joined += 1;
            }
            assert_eq!(joined, (batch + 1) * 1_000);
        }
        assert_eq!(sum, (total / 1_000) as u64 * (999 * 1_000 / 2));
    }

    // Proves that task ids are unique and agree between the AbortHandle, the JoinHandle,
    // join_next_with_id, and task::id() read inside the task; try_id() is None outside.
    async fn ids_are_unique_and_agree_everywhere() {
        assert_eq!(task::try_id(), None);
        let handle = runtime::spawn(async { task::id() });
        let id = handle.id();
        assert_eq!(handle.await.unwrap(), id);

        let mut set = JoinSet::new();
        let mut ids = HashSet::new();
        for _ in 0..100 {
            assert!(ids.insert(set.spawn(async { task::id() }).id()));
        }
        assert!(!ids.contains(&id));
        while let Some(result) = set.join_next_with_id().await {
            let (id, inside) = result.unwrap();
            assert_eq!(id, inside);
            assert!(ids.remove(&id));
        }
        assert!(ids.is_empty());
    }

    // Proves that an AbortHandle cancels its task (the future is dropped, is_finished
    // turns true, the JoinHandle reads cancelled) and keeps working after the JoinHandle
    // is gone.
    async fn abort_handle_aborts_and_reports_finished() {
        let drops = DropCounter::new();
        let guard = drops.guard();
        let handle = runtime::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let abort = handle.abort_handle();
        assert_eq!(abort.id(), handle.id());
        assert!(!abort.is_finished());
        abort.abort();
        let err = handle.await.unwrap_err();
        assert!(err.is_cancelled() && err.id() == abort.id());
        assert!(abort.is_finished());
        assert_eq!(drops.count(), 1);

        let detached = runtime::spawn(pending::<()>()).abort_handle();
        detached.abort();
        yield_until(|| detached.is_finished()).await;
    }
}

// Proves that JoinSet::spawn_local works on a LocalRuntime with !Send futures and outputs.
#[test]
fn spawn_local_works_on_a_local_runtime() {
    let rt = Builder::new_current_thread().build_local().unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..10 {
            let shared = Rc::new(i);
            set.spawn_local(async move {
                yield_now().await;
                shared
            });
        }
        let mut sum = 0;
        while let Some(result) = set.join_next().await {
            sum += *result.unwrap();
        }
        assert_eq!(sum, 45);
    });
}

// Proves that JoinSet::spawn_local follows the runtime's one rule: refused with a message
// naming `LocalRuntime` on a runtime that is not one.
#[test]
#[should_panic(expected = "LocalRuntime")]
fn spawn_local_panics_outside_a_local_runtime() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_local(async { Rc::new(1) });
    });
}

// Proves that task::id() outside any task panics with a message pointing at try_id().
#[test]
#[should_panic(expected = "try_id")]
fn task_id_outside_a_task_panics() {
    let _ = task::id();
}
