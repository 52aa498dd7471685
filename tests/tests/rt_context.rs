//! The runtime context: what works outside a runtime, and how misuse is reported (a panic
//! or an error whose message says how to fix it, never a deadlock).

use std::os::unix::net::UnixStream;
use std::time::Duration;

use runtime::io::AsyncFd;
use runtime::task::spawn_local;
use runtime::{Builder, Handle};
use tests::rt::{expect_panic, with_hang_guard};
use tests::rt_test;

const NESTED: &str = "Cannot start a runtime from within a runtime";

// Proves that runtime::spawn outside any runtime panics with a message that names the
// problem and how to fix it (block_on, a task, or Handle::enter).
#[test]
fn spawn_outside_a_runtime_panics_with_how_to_fix_it() {
    let message = expect_panic(|| runtime::spawn(async {}));
    assert!(message.contains("no runtime"), "{message}");
    assert!(message.contains("block_on"), "{message}");
    assert!(message.contains("runtime::spawn"), "{message}");
}

// Proves that runtime::spawn_blocking outside a runtime panics with the same guidance.
#[test]
fn spawn_blocking_outside_a_runtime_panics_with_how_to_fix_it() {
    let message = expect_panic(|| runtime::spawn_blocking(|| ()));
    assert!(message.contains("no runtime"), "{message}");
    assert!(message.contains("block_on"), "{message}");
}

// Proves that Handle::current() outside a runtime panics with guidance, while
// Handle::try_current() returns a missing-context error instead.
#[test]
fn handle_current_outside_a_runtime_panics_and_try_current_errs() {
    let message = expect_panic(Handle::current);
    assert!(message.contains("Handle::current()"), "{message}");
    assert!(message.contains("block_on"), "{message}");
    let err = Handle::try_current().unwrap_err();
    assert!(err.is_missing_context() && !err.is_thread_local_destroyed());
    assert!(err.to_string().contains("block_on"), "{err}");
}

// Proves that sleep outside a runtime panics with guidance rather than a bare unwrap.
#[test]
fn sleep_outside_a_runtime_panics_with_how_to_fix_it() {
    let message = expect_panic(|| runtime::time::sleep(Duration::from_millis(1)));
    assert!(message.contains("no runtime"), "{message}");
    assert!(message.contains("block_on"), "{message}");
}

// Proves that spawn_local outside any runtime panics with a message, and so does
// spawn_local on a Send current-thread runtime (entered, or inside its block_on): it
// names the LocalRuntime that makes it work. (Current-thread only: rt_multi_thread.rs
// checks that the multi-thread flavor refuses it.)
#[test]
fn spawn_local_outside_a_local_runtime_panics_with_a_message() {
    let message = expect_panic(|| spawn_local(async {}));
    assert!(message.contains("spawn_local"), "{message}");
    assert!(message.contains("no runtime"), "{message}");

    let rt = Builder::new_current_thread().build().unwrap();
    let guard = rt.enter();
    let message = expect_panic(|| spawn_local(async {}));
    assert!(message.contains("build_local"), "{message}");
    drop(guard);
    let message = rt.block_on(async { expect_panic(|| spawn_local(async {})) });
    assert!(message.contains("build_local"), "{message}");
}

// Proves that spawn_local from a thread other than the one inside block_on panics, even
// with the runtime entered there, instead of running a !Send future on the wrong thread.
// (Current-thread only, as above.)
// Steps: the runtime's thread parks in block_on on a oneshot; a std thread enters the
// runtime, tries spawn_local, reports the panic message, and releases block_on.
#[test]
fn spawn_local_from_another_thread_than_block_on_panics() {
    with_hang_guard(|| {
        let rt = Builder::new_current_thread().build_local().unwrap();
        let handle = rt.handle().clone();
        let (tx, rx) = tests::rt::oneshot::<String>();
        let other = std::thread::spawn(move || {
            let _guard = handle.enter();
            tx.send(expect_panic(|| spawn_local(async {})));
        });
        let message = rt.block_on(rx).unwrap();
        assert!(message.contains("spawn_local"), "{message}");
        other.join().unwrap();
    });
}

rt_test! {
    // Proves that block_on inside a runtime (through Handle::current(), or another
    // runtime's block_on) panics with "Cannot start a runtime from within a runtime"
    // instead of deadlocking, and the runtime keeps working after the panic.
    fn block_on_inside_a_runtime_panics_instead_of_deadlocking(flavor) {
        let rt = flavor.build();
        let other = flavor.build();
        rt.block_on(async {
            let message = expect_panic(|| Handle::current().block_on(async {}));
            assert!(message.contains(NESTED), "{message}");

            let message = expect_panic(|| other.block_on(async {}));
            assert!(message.contains(NESTED), "{message}");

            assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
        });
    }

    // Proves that block_on inside a task (not the block_on future) is refused the same
    // way: the panic becomes the task's JoinError, the runtime goes on.
    async fn block_on_inside_a_task_panics_instead_of_deadlocking() {
        let task = runtime::spawn(async { Handle::current().block_on(async { 1 }) });
        let err = task.await.unwrap_err();
        assert!(err.is_panic());
        let message = tests::rt::panic_message(&*err.into_panic());
        assert!(message.contains(NESTED), "{message}");
        assert_eq!(runtime::spawn(async { 2 }).await.unwrap(), 2);
    }

    // Proves that AsyncFd::new with a Handle kept past its runtime's drop returns an
    // error (the reactor is shut down) rather than registering with a dead reactor.
    fn async_fd_on_a_shut_down_runtime_is_an_error(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        drop(rt);
        let _guard = handle.enter();
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let err = AsyncFd::new(a).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
    }

    // Proves that Handle::try_current() and Handle::enter() give the context to plain
    // code: inside block_on and after enter() (but not after the guard drops).
    fn enter_makes_the_runtime_current_until_the_guard_drops(flavor) {
        let rt = flavor.build();
        assert!(Handle::try_current().is_err());
        {
            let _guard = rt.enter();
            assert!(Handle::try_current().is_ok());
            drop(runtime::spawn(async {})); // spawn works after enter()
        }
        assert!(Handle::try_current().is_err());
        rt.block_on(async { assert!(Handle::try_current().is_ok()) });
        assert!(Handle::try_current().is_err());
    }

    // Proves that Handle::block_on on a runtime that has been dropped panics with a
    // message saying so, instead of waiting forever for a scheduler that will never come
    // back.
    fn handle_block_on_after_runtime_drop_panics_instead_of_hanging(flavor) {
        let rt = flavor.build();
        let handle = rt.handle().clone();
        drop(rt);
        let message = expect_panic(|| handle.block_on(async { 1 }));
        assert!(message.contains("shut down"), "{message}");
    }
}
