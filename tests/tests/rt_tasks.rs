//! Tasks across the runtime: spawning, joining, aborting, panics, remote wakeups,
//! wakers that outlive the runtime, shutdown, `yield_now` and `spawn_local`.

use std::future::{Future, pending};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures_util::FutureExt;
use runtime::Handle;
use runtime::task::{JoinHandle, spawn_local, yield_now};
use runtime::time::sleep;
use tests::rt::{DropCounter, Flavor, WakerSlot, oneshot, panic_message, yield_until};
use tests::rt_test;

rt_test! {
    // Proves that 10,000 tasks spawned at once all run to completion and each JoinHandle
    // yields its own task's result (no task lost, duplicated or mixed up).
    async fn ten_thousand_spawned_tasks_all_complete_with_their_own_results() {
        const N: u64 = 10_000;
        let handles: Vec<JoinHandle<u64>> = (0..N)
            .map(|i| {
                runtime::spawn(async move {
                    if i % 3 == 0 {
                        yield_now().await; // some tasks go round the queue once more
                    }
                    i * 2 + 1
                })
            })
            .collect();
        for (i, handle) in (0..N).zip(handles) {
            assert_eq!(handle.await.unwrap(), i * 2 + 1);
        }
    }

    // Proves that abort() of a parked task drops its future exactly once, its JoinHandle
    // resolves to a cancelled JoinError, and aborting again changes nothing.
    async fn abort_drops_the_future_exactly_once_and_reports_cancelled() {
        let drops = DropCounter::new();
        let guard = drops.guard();
        let task = runtime::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        yield_now().await; // let it start and park
        assert!(!task.is_finished());
        task.abort();
        task.abort();
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled() && !err.is_panic(), "{err:?}");
        assert_eq!(drops.count(), 1);
    }

    // Proves that aborting a task before its first poll still drops its future once and
    // never polls it. A multi-thread worker may poll a new task at once, so there both
    // workers are held in blocking tasks from before the spawn until after the abort.
    fn abort_before_first_poll_drops_without_polling(flavor) {
        let rt = flavor.build();
        let held = match flavor {
            Flavor::CurrentThread => None,
            Flavor::MultiThread => Some(HeldWorkers::hold(&rt, 2)),
        };
        rt.block_on(async move {
            let drops = DropCounter::new();
            let polled = Arc::new(AtomicBool::new(false));
            let (guard, was_polled) = (drops.guard(), polled.clone());
            let task = runtime::spawn(async move {
                let _guard = guard;
                was_polled.store(true, Ordering::SeqCst);
            });
            task.abort();
            drop(held);
            assert!(task.await.unwrap_err().is_cancelled());
            assert_eq!(drops.count(), 1);
            assert!(!polled.load(Ordering::SeqCst), "an aborted task was polled");
        });
    }

    // Proves that abort() of a task that already completed keeps its result, and that
    // is_finished() turns true when (and only when) the task is done.
    async fn abort_after_completion_keeps_the_result() {
        let (tx, rx) = oneshot::<()>();
        let task = runtime::spawn(async move {
            rx.await;
            42
        });
        yield_now().await;
        assert!(!task.is_finished(), "finished while waiting on the oneshot");
        tx.send(());
        yield_until(|| task.is_finished()).await;
        task.abort();
        assert!(task.is_finished());
        assert_eq!(task.await.unwrap(), 42);
    }

    // Proves that abort() called from another thread while the runtime is parked wakes
    // it, and the task's future is dropped once.
    // Steps: the task parks forever; block_on parks on the JoinHandle; a std thread
    // aborts after 20 ms; the runtime must wake, cancel the task and resolve the handle.
    async fn abort_from_a_foreign_thread_wakes_the_parked_runtime() {
        let drops = DropCounter::new();
        let guard = drops.guard();
        let task = runtime::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let task = Arc::new(Mutex::new(task));
        let remote = task.clone();
        let aborter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            remote.lock().unwrap().abort();
        });
        let result = std::future::poll_fn(|cx| task.lock().unwrap().poll_unpin(cx)).await;
        assert!(result.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
        aborter.join().unwrap();
    }

    // Proves panic isolation: a panicking task yields JoinError::is_panic() with its
    // payload, and the runtime goes on running tasks spawned before and after it.
    async fn panicking_task_reports_its_payload_and_the_runtime_keeps_running() {
        let before = runtime::spawn(async {
            sleep(Duration::from_millis(10)).await;
            "survived"
        });
        let boom = runtime::spawn(async {
            yield_now().await;
            panic!("boom");
        });
        let err = boom.await.unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled(), "{err:?}");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));

        let formatted = runtime::spawn(async { panic!("code {}", 7) });
        let payload = formatted.await.unwrap_err().into_panic();
        assert_eq!(panic_message(&*payload), "code 7");

        assert_eq!(before.await.unwrap(), "survived");
        assert_eq!(runtime::spawn(async { 5 }).await.unwrap(), 5);
    }

    // Proves that a wake from a foreign thread unparks a runtime blocked in its driver.
    // Steps: a task awaits a oneshot; block_on awaits the task; with nothing else to do
    // and no timer, the runtime parks with no timeout; 20 ms later a std thread sends.
    async fn task_woken_from_a_foreign_thread_completes() {
        let (tx, rx) = oneshot::<u32>();
        let task = runtime::spawn(async move { rx.await.unwrap() + 1 });
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            tx.send(41);
        });
        assert_eq!(task.await.unwrap(), 42);
        sender.join().unwrap();
    }

    // Proves that a wake of the block_on future itself from a foreign thread unparks the
    // runtime (the block_on waker is not a task waker).
    async fn block_on_future_woken_from_a_foreign_thread_completes() {
        let (tx, rx) = oneshot::<&str>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            tx.send("hello");
        });
        assert_eq!(rx.await, Some("hello"));
        sender.join().unwrap();
    }

    // Proves that Handle::spawn from a foreign thread while the runtime is parked in
    // block_on runs the task, and block_on sees its result.
    // Steps: block_on parks on a oneshot; 20 ms later a std thread spawns a task through
    // the Handle; the task (on the runtime's thread) sends the oneshot.
    async fn handle_spawn_from_a_foreign_thread_runs_while_parked() {
        let handle = Handle::current();
        let (tx, rx) = oneshot::<thread::ThreadId>();
        let spawner = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let task = handle.spawn(async move { tx.send(thread::current().id()) });
            drop(task); // detached: the task must run anyway
        });
        let ran_on = rx.await.expect("the spawned task dropped the sender unsent");
        assert_ne!(ran_on, spawner.thread().id(), "the task ran on the spawning thread");
        spawner.join().unwrap();
    }

    // Proves that a task spawned through a Handle on a foreign thread while the runtime's
    // thread is busy (blocked in thread::join, not parked) is run once block_on goes on,
    // and its JoinHandle, sent back, resolves.
    async fn join_handle_from_a_foreign_spawn_resolves() {
        let handle = Handle::current();
        let spawned = thread::spawn(move || handle.spawn(async { 6 * 7 }))
            .join()
            .unwrap();
        assert_eq!(spawned.await.unwrap(), 42);
    }

    // Proves that tasks that are always ready do not starve timers, I/O or tasks spawned
    // from other threads: with two tasks yielding in a loop forever, a sleep still fires,
    // a socket still becomes readable, and a task spawned through a Handle still runs.
    async fn busy_tasks_do_not_starve_timers_io_or_remote_spawns() {
        let spinners: Vec<JoinHandle<()>> = (0..2)
            .map(|_| {
                runtime::spawn(async {
                    loop {
                        yield_now().await;
                    }
                })
            })
            .collect();
        sleep(Duration::from_millis(10)).await;

        let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let fd = runtime::io::AsyncFd::new(ours).unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            std::io::Write::write_all(&mut theirs, b"!").unwrap();
            theirs
        });
        assert!(fd.readable().await.unwrap().ready().is_readable());

        let handle = Handle::current();
        let remote = thread::spawn(move || handle.spawn(async { 7 })).join().unwrap();
        assert_eq!(remote.await.unwrap(), 7);
        for spinner in spinners {
            spinner.abort();
        }
        drop(writer.join().unwrap());
    }

    // Proves that yield_now lets other tasks run: two tasks advance in lock step, each
    // waiting (by yielding) for the other to catch up, which only finishes if a yield
    // hands the thread to the other task.
    async fn yield_now_lets_other_tasks_run() {
        const STEPS: usize = 200;
        let a = Arc::new(AtomicUsize::new(0));
        let b = Arc::new(AtomicUsize::new(0));
        let lock_step = |mine: Arc<AtomicUsize>, theirs: Arc<AtomicUsize>| async move {
            for step in 0..STEPS {
                yield_until(|| theirs.load(Ordering::SeqCst) >= step).await;
                mine.store(step + 1, Ordering::SeqCst);
                yield_now().await;
            }
        };
        let first = runtime::spawn(lock_step(a.clone(), b.clone()));
        let second = runtime::spawn(lock_step(b.clone(), a.clone()));
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!((a.load(Ordering::SeqCst), b.load(Ordering::SeqCst)), (STEPS, STEPS));
    }

    // Proves that a task can be started from a task and joined from another task.
    async fn nested_spawns_join_across_tasks() {
        #[expect(clippy::async_yields_async, reason = "the inner JoinHandle is the result")]
        let inner = runtime::spawn(async { runtime::spawn(async { 3 }) });
        let inner = inner.await.unwrap();
        let outer = runtime::spawn(async move { inner.await.unwrap() * 2 });
        assert_eq!(outer.await.unwrap(), 6);
    }

    // Proves that wakers outliving the runtime are harmless: a task's waker and the
    // block_on waker, cloned out, are woken (by value, by reference, on this and another
    // thread) and dropped after the runtime is gone; nothing crashes or leaks the task.
    fn wakers_used_after_the_runtime_drop_are_harmless(flavor) {
        let task_slot = WakerSlot::new();
        let block_on_slot = WakerSlot::new();
        let drops = DropCounter::new();
        let rt = flavor.build();
        let guard = drops.guard();
        let parked = task_slot.pending_forever();
        let handle = rt.spawn(async move {
            let _guard = guard;
            parked.await;
        });
        rt.block_on(async {
            yield_until(|| task_slot.is_filled()).await;
            std::future::poll_fn(|cx| {
                block_on_slot.store(cx.waker());
                Poll::Ready(())
            })
            .await;
        });
        let task_waker = task_slot.take().expect("the task stored its waker");
        let block_on_waker = block_on_slot.take().expect("block_on stored its waker");
        let spare = task_waker.clone();
        drop(rt);
        assert_eq!(drops.count(), 1, "the parked task was dropped with the runtime");
        assert!(handle.now_or_never().unwrap().unwrap_err().is_cancelled());

        task_waker.wake_by_ref();
        task_waker.wake();
        block_on_waker.wake_by_ref();
        let remote = thread::spawn(move || {
            spare.wake();
            block_on_waker.wake();
        });
        remote.join().unwrap();
        assert_eq!(drops.count(), 1);
    }

    // Proves that dropping the runtime drops every task exactly once: tasks parked on
    // I/O, on timers, on nothing, tasks still queued (spawned but never run, or ready
    // and yielding), tasks whose destructor spawns a new task, and tasks whose destructor
    // wakes another task. Kept JoinHandles resolve to cancelled afterwards.
    fn runtime_drop_drops_every_task_exactly_once(flavor) {
        let rt = flavor.build();
        let ledger = Ledger::default();
        let mut kept = Vec::new();
        let (io_side, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        io_side.set_nonblocking(true).unwrap();
        let wake_target = WakerSlot::new();

        // Queued in the injection queue, never run: spawned outside block_on.
        for _ in 0..10 {
            kept.push(rt.spawn(ledger.track(pending::<()>())));
        }
        let spin_started = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            // Parked on a timer.
            for _ in 0..10 {
                kept.push(runtime::spawn(ledger.track(sleep(Duration::from_secs(3600)))));
            }
            // Parked on I/O that never comes.
            let fd = runtime::io::AsyncFd::new(io_side).unwrap();
            kept.push(runtime::spawn(ledger.track(async move {
                let _ = fd.readable().await;
            })));
            // Parked on nothing (a waker kept by someone else), target of a waking drop.
            runtime::spawn(ledger.track(wake_target.pending_forever()));
            // Whose destructor wakes the task above (whether or not it is gone yet).
            let waker_slot = wake_target.clone();
            runtime::spawn(ledger.track(OnDrop::new(pending::<()>(), move || {
                if let Some(waker) = waker_slot.take() {
                    waker.wake();
                }
            })));
            // Whose destructor spawns a new, tracked task.
            for _ in 0..5 {
                let inner = ledger.clone();
                runtime::spawn(ledger.track(OnDrop::new(pending::<()>(), move || {
                    drop(runtime::spawn(inner.track(pending::<()>())));
                })));
            }
            // Ready and yielding forever: in the run queue when block_on returns.
            for _ in 0..5 {
                let started = spin_started.clone();
                kept.push(runtime::spawn(ledger.track(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    loop {
                        yield_now().await;
                    }
                })));
            }
            yield_until(|| spin_started.load(Ordering::SeqCst) == 5 && wake_target.is_filled())
                .await;
        });
        // More never-run tasks, queued after block_on left.
        for _ in 0..10 {
            kept.push(rt.spawn(ledger.track(pending::<()>())));
        }
        drop(rt);
        ledger.assert_each_dropped_once(10 + 10 + 1 + 1 + 1 + 5 + 5 + 5 + 10);
        for handle in kept {
            let result = handle.now_or_never().expect("a kept handle still pending");
            assert!(result.unwrap_err().is_cancelled());
        }
    }

    // Proves that a Handle kept past its runtime's drop spawns tasks that are cancelled
    // at once (their futures dropped, their handles cancelled) instead of leaking.
    fn handle_spawn_after_runtime_drop_is_cancelled(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        drop(rt);
        let drops = DropCounter::new();
        let guard = drops.guard();
        let task = handle.spawn(async move {
            let _guard = guard;
        });
        assert_eq!(drops.count(), 1);
        let result = task.now_or_never().expect("cancelled at once");
        assert!(result.unwrap_err().is_cancelled());
    }

    // Proves that dropping a runtime inside another runtime's block_on, or inside one of
    // its tasks, leaves the outer runtime intact: its tasks queued at that moment still
    // run, and it goes on spawning and joining afterwards.
    // Steps: the outer block_on spawns ten ready tasks (queued, not yet run), then drops a
    // second runtime that has a parked task; the ten must still complete. Then a task of
    // the outer runtime drops a third runtime the same way.
    fn runtime_dropped_inside_another_runtime_leaves_it_intact(flavor) {
        let outer = flavor.build();
        outer.block_on(async {
            let queued: Vec<JoinHandle<usize>> =
                (0..10).map(|i| runtime::spawn(async move { i })).collect();
            let inner = flavor.build();
            drop(inner.spawn(pending::<()>()));
            drop(inner);
            for (i, handle) in queued.into_iter().enumerate() {
                assert_eq!(handle.await.unwrap(), i);
            }

            let inner = flavor.build();
            drop(inner.spawn(pending::<()>()));
            let queued: Vec<JoinHandle<usize>> =
                (0..10).map(|i| runtime::spawn(async move { i })).collect();
            runtime::spawn(async move { drop(inner) }).await.unwrap();
            for (i, handle) in queued.into_iter().enumerate() {
                assert_eq!(handle.await.unwrap(), i);
            }
        });
    }

    // Proves that dropping the runtime while another thread is inside block_on (through
    // a Handle) waits for that block_on to return, then drops every task, instead of
    // skipping the shutdown and leaking the tasks.
    // Steps: a task parks forever; a std thread enters handle.block_on, signals, sleeps
    // 50 ms inside it; once signalled, this thread drops the runtime; right after the
    // drop the parked task's future must have been dropped.
    fn runtime_drop_waits_for_a_block_on_on_another_thread(flavor) {
        let rt = flavor.build();
        let drops = DropCounter::new();
        let guard = drops.guard();
        drop(rt.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        let handle = rt.handle().clone();
        let (inside_tx, inside) = std::sync::mpsc::channel();
        let other = thread::spawn(move || {
            handle.block_on(async {
                inside_tx.send(()).unwrap();
                sleep(Duration::from_millis(50)).await;
            });
        });
        inside.recv().unwrap();
        drop(rt);
        assert_eq!(drops.count(), 1, "the runtime's tasks were not dropped with it");
        other.join().unwrap();
    }

    // Proves that a task of one runtime can be joined from another runtime's block_on on
    // another thread: the task's completion wakes the other runtime's parked thread.
    // Steps: runtime A is driven by a std thread (block_on until told to stop); runtime
    // B's block_on spawns a task on A through its Handle and awaits the JoinHandle.
    fn join_across_runtimes_wakes_the_joining_runtime(flavor) {
        let a = flavor.build();
        let a_handle = a.handle().clone();
        let (stop, stopped) = oneshot::<()>();
        let driver = thread::spawn(move || a.block_on(stopped));
        let b = flavor.build();
        let value = b.block_on(async move {
            let task = a_handle.spawn(async {
                sleep(Duration::from_millis(10)).await;
                thread::current().id()
            });
            task.await.unwrap()
        });
        match flavor {
            Flavor::CurrentThread => {
                assert_eq!(value, driver.thread().id(), "the task ran on runtime A's thread");
            }
            // A's workers run its tasks; B's block_on thread never does.
            Flavor::MultiThread => assert_ne!(value, thread::current().id()),
        }
        stop.send(());
        driver.join().unwrap();
    }

    // Proves that a panic in the block_on future leaves the runtime whole: the panic
    // reaches the caller, a later block_on runs (and finishes a task spawned before the
    // panic), and dropping the runtime drops its parked tasks and returns.
    fn panic_in_block_on_leaves_the_runtime_usable_and_droppable(flavor) {
        let rt = flavor.build();
        let drops = DropCounter::new();
        let guard = drops.guard();
        drop(rt.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        let (tx, rx) = oneshot::<u8>();
        let survivor = rt.spawn(async move { rx.await.unwrap() + 1 });
        let message = tests::rt::expect_panic(|| rt.block_on(async { panic!("in block_on") }));
        assert_eq!(message, "in block_on");
        tx.send(1);
        assert_eq!(rt.block_on(survivor).unwrap(), 2);
        drop(rt);
        assert_eq!(drops.count(), 1, "the parked task was not dropped with the runtime");
    }

    // Proves that a runtime dropped by one of its own tasks (which owns the Runtime)
    // does not deadlock waiting for the scheduler that is running that very task: the
    // drop panics with a message saying why (as tokio's does), inside the task.
    // The task drops the runtime only once `block_on` is running: a multi-thread worker
    // could run it at once, and `Handle::block_on` on a runtime already shut down panics.
    fn runtime_dropped_by_its_own_task_does_not_deadlock(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let (inside, block_on_started) = oneshot::<()>();
        let dropper = handle.spawn(async move {
            block_on_started.await;
            drop(rt)
        });
        let err = handle
            .block_on(async move {
                inside.send(());
                dropper.await
            })
            .unwrap_err();
        let message = panic_message(&*err.into_panic());
        assert!(message.contains("dropped from inside itself"), "{message}");
    }

    // Proves that two threads calling block_on on one runtime take turns: the second
    // waits until the first returns, then runs, and both futures complete.
    fn block_on_from_two_threads_takes_turns(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let (inside_tx, inside) = std::sync::mpsc::channel();
        let other = thread::spawn(move || {
            handle.block_on(async {
                inside_tx.send(()).unwrap();
                sleep(Duration::from_millis(20)).await;
                runtime::spawn(async { 1 }).await.unwrap()
            })
        });
        inside.recv().unwrap();
        let mine = rt.block_on(async { runtime::spawn(async { 2 }).await.unwrap() });
        assert_eq!(other.join().unwrap() + mine, 3);
    }

    // Proves that tasks spawned before a block_on keep running across block_on calls:
    // a task started in one block_on finishes in the next.
    fn tasks_progress_across_block_on_calls(flavor) {
        let rt = flavor.build();
        let (tx, rx) = oneshot::<u8>();
        let task = rt.spawn(async move { rx.await.unwrap() * 2 });
        rt.block_on(yield_now());
        tx.send(21);
        assert_eq!(rt.block_on(task).unwrap(), 42);
    }

    // Proves that a `block_on` future that keeps waking itself (a `yield_now` loop) cannot
    // starve the driver: the timer its task waits on still fires. Review finding B5: the
    // loop used to skip both the blocking and the non-blocking park while the future was
    // woken.
    async fn self_waking_block_on_future_still_lets_timers_fire() {
        let sleeper = runtime::spawn(sleep(Duration::from_millis(5)));
        while !sleeper.is_finished() {
            yield_now().await;
        }
        sleeper.await.unwrap();
    }

    // Proves that `Handle::block_on` on a thread that cannot get the core (here a blocking
    // thread, while the runtime's thread is inside `block_on` awaiting it) polls its
    // future meanwhile, as tokio does, instead of deadlocking: the sleep inside it is
    // driven by the core's holder, whose timer wakes the blocking thread. Review finding
    // B3(a). (On the multi-thread flavor the workers drive the timer.)
    async fn handle_block_on_from_a_blocking_thread_polls_while_the_core_is_busy() {
        let handle = Handle::current();
        let value = runtime::spawn_blocking(move || {
            handle.block_on(async {
                sleep(Duration::from_millis(2)).await;
                5
            })
        })
        .await
        .unwrap();
        assert_eq!(value, 5);
    }

    // Proves that `Handle::block_on` works from several foreign threads at once, beside
    // the runtime's own `block_on`, and that each sees tasks spawned through the handle.
    // (On the current-thread flavor they take turns with the core, or poll while another
    // thread holds it.)
    fn handle_block_on_from_many_threads(flavor) {
        let rt = flavor.build();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let handle = rt.handle().clone();
                thread::spawn(move || {
                    handle.block_on(async move {
                        sleep(Duration::from_millis(5)).await;
                        runtime::spawn(async move { i * 2 }).await.unwrap()
                    })
                })
            })
            .collect();
        let mine = rt.block_on(async { runtime::spawn(async { 100 }).await.unwrap() });
        let sum: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum + mine, 112);
    }

    // Proves that spawning during and after shutdown never panics or leaks: from a task's
    // Drop while the runtime drops it, and from a kept Handle afterwards, the JoinHandle
    // resolves as cancelled and the future is dropped.
    fn spawn_during_and_after_shutdown_resolves_cancelled(flavor) {
        struct SpawnOnDrop(Handle, Arc<Mutex<Option<JoinHandle<()>>>>);
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                *self.1.lock().unwrap() = Some(self.0.spawn(async {}));
            }
        }
        let rt = flavor.build();
        let handle = rt.handle().clone();
        let drops = DropCounter::new();
        let late = Arc::new(Mutex::new(None));
        let on_drop = SpawnOnDrop(handle.clone(), late.clone());
        let guard = drops.guard();
        drop(rt.spawn(async move {
            let _keep = (on_drop, guard);
            pending::<()>().await;
        }));
        rt.block_on(yield_now());
        drop(rt);
        assert_eq!(drops.count(), 1, "the pending task was dropped with the runtime");
        let spawned_in_drop = late.lock().unwrap().take().expect("Drop ran");
        let after = handle.spawn(async {});
        for join in [spawned_in_drop, after] {
            let err = join.now_or_never().expect("resolved at once").unwrap_err();
            assert!(err.is_cancelled());
        }
    }
}

// Proves that a !Send future (holding an Rc) spawned with spawn_local from inside
// block_on runs on the runtime's thread and its JoinHandle returns the value, also when
// spawned from a task. (spawn_local is the current-thread flavor's, so no flavor macro;
// rt_multi_thread.rs checks that the multi-thread flavor refuses it clearly.)
#[runtime::test]
async fn spawn_local_runs_a_non_send_future() {
    let shared = Rc::new(20);
    let local = shared.clone();
    let task = spawn_local(async move {
        yield_now().await;
        *local + 1
    });
    assert_eq!(task.await.unwrap(), 21);

    let from_local = spawn_local(async move {
        let rc = Rc::new(1);
        let nested = spawn_local(async move { *rc + 1 });
        nested.await.unwrap()
    });
    assert_eq!(from_local.await.unwrap(), 2);
    assert_eq!(Rc::strong_count(&shared), 1, "the task's Rc was dropped");
}

// Proves that a local task's output may itself be !Send (an Rc), returned through its
// JoinHandle. (Current-thread only, like spawn_local; rt_multi_thread.rs checks that the
// multi-thread flavor refuses it clearly.)
#[runtime::test]
async fn spawn_local_returns_a_non_send_value() {
    let task = spawn_local(async { Rc::new(String::from("local")) });
    let value: Rc<String> = task.await.unwrap();
    assert_eq!(value.as_str(), "local");
}

/// Multi-thread workers held in blocking tasks (so no worker polls anything else) until
/// this is dropped.
struct HeldWorkers {
    /// Dropping it ends every held task's `recv`.
    _release: std::sync::mpsc::Sender<()>,
}

impl HeldWorkers {
    /// Blocks `workers` workers of `rt` (all of them), returning once each is held.
    fn hold(rt: &runtime::Runtime, workers: usize) -> HeldWorkers {
        let all_held = Arc::new(std::sync::Barrier::new(workers + 1));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        for _ in 0..workers {
            let (all_held, released) = (all_held.clone(), released.clone());
            // Each task waits here until all are running, so each holds its own worker
            // (a worker blocked in one cannot start another). Detached.
            drop(rt.spawn(async move {
                all_held.wait();
                let _ = released.lock().unwrap().recv();
            }));
        }
        all_held.wait();
        HeldWorkers { _release: release }
    }
}

/// Records, per tracked future, how many times it was dropped.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Vec<usize>>>);

impl Ledger {
    /// Wraps `future` so its drop is counted under a new id.
    fn track<F: Future + Send + 'static>(
        &self,
        future: F,
    ) -> impl Future<Output = ()> + Send + use<F> {
        let id = {
            let mut drops = self.0.lock().unwrap();
            drops.push(0);
            drops.len() - 1
        };
        let on_drop = self.clone();
        OnDrop::new(future, move || on_drop.0.lock().unwrap()[id] += 1)
    }

    fn assert_each_dropped_once(&self, expected_tasks: usize) {
        let drops = self.0.lock().unwrap();
        assert_eq!(drops.len(), expected_tasks, "tracked futures");
        let wrong: Vec<_> = drops.iter().enumerate().filter(|(_, n)| **n != 1).collect();
        assert!(
            wrong.is_empty(),
            "(future, drops) not dropped exactly once: {wrong:?}"
        );
    }
}

/// A future that runs a closure when dropped; its output is discarded.
struct OnDrop<F, D: FnOnce()> {
    future: std::pin::Pin<Box<F>>,
    on_drop: Option<D>,
}

impl<F, D: FnOnce()> OnDrop<F, D> {
    fn new(future: F, on_drop: D) -> Self {
        OnDrop {
            future: Box::pin(future),
            on_drop: Some(on_drop),
        }
    }
}

impl<F: Future, D: FnOnce()> Future for OnDrop<F, D> {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.future.as_mut().poll(cx).map(drop)
    }
}

impl<F, D: FnOnce()> Unpin for OnDrop<F, D> {}

impl<F, D: FnOnce()> Drop for OnDrop<F, D> {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            on_drop();
        }
    }
}
