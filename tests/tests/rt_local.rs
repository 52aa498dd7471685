//! `LocalRuntime`: the one place `spawn_local` works, bound to its thread by the type
//! system (it is !Send; a doc test in the runtime crate proves it cannot move). These
//! tests cover what is checked at run time: misuse from other threads, and that local
//! tasks are polled and dropped on the owner thread only.

use std::cell::Cell;
use std::rc::Rc;
use std::thread;

use runtime::Builder;
use runtime::task::{spawn_local, yield_now};
use tests::rt::{expect_panic, with_hang_guard};

// Proves that spawn_local works inside a LocalRuntime's block_on and from its tasks, and
// through the runtime beside block_on (queued until the next block_on).
#[test]
fn local_runtime_runs_non_send_tasks_inside_and_beside_block_on() {
    let rt = Builder::new_current_thread().build_local().unwrap();
    let counter = Rc::new(Cell::new(0));
    let early = {
        let counter = counter.clone();
        rt.spawn_local(async move { counter.set(counter.get() + 1) })
    };
    let total = rt.block_on(async {
        early.await.unwrap();
        let inner = counter.clone();
        let task = spawn_local(async move {
            yield_now().await;
            let nested = spawn_local(async move { inner.set(inner.get() + 10) });
            nested.await.unwrap();
        });
        task.await.unwrap();
        counter.get()
    });
    assert_eq!(total, 11);
}

// Proves that a local task still pending when the LocalRuntime drops is dropped on the
// owner thread (its Rc is released here, not leaked or dropped elsewhere).
#[test]
fn pending_local_tasks_are_dropped_on_the_owner_thread() {
    struct OnDrop(Rc<Cell<Option<thread::ThreadId>>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.set(Some(thread::current().id()));
        }
    }
    let dropped_on = Rc::new(Cell::new(None));
    let rt = Builder::new_current_thread().build_local().unwrap();
    let guard = OnDrop(dropped_on.clone());
    rt.spawn_local(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    rt.block_on(yield_now());
    drop(rt);
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    assert_eq!(Rc::strong_count(&dropped_on), 1);
}

// Proves that Handle::block_on of a LocalRuntime from another thread is a clear panic
// (that thread must not take the core holding !Send tasks), while Handle::spawn from
// there works and runs on the owner's thread.
#[test]
fn another_thread_can_spawn_but_not_block_on() {
    with_hang_guard(|| {
        let rt = Builder::new_current_thread().build_local().unwrap();
        let handle = rt.handle().clone();
        let owner = thread::current().id();
        let (message, task) = thread::spawn(move || {
            let message = expect_panic(|| handle.block_on(async {}));
            (message, handle.spawn(async { thread::current().id() }))
        })
        .join()
        .unwrap();
        assert!(message.contains("LocalRuntime"), "{message}");
        assert_eq!(rt.block_on(task).unwrap(), owner);
    });
}

// Proves that only the current-thread flavor builds a LocalRuntime; asking a multi-thread
// builder is an InvalidInput error, not a runtime that would move tasks.
#[test]
fn build_local_on_a_multi_thread_builder_is_invalid_input() {
    let err = Builder::new_multi_thread().build_local().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
