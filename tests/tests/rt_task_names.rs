//! Task names: `task::Builder::name(..).spawn*`, `task::name()` inside the task, and the
//! name in `JoinError`; the builder's errors where the plain functions panic.

use std::future::pending;
use std::io;

use runtime::task::{self, Builder, yield_now};
use tests::rt_test;

rt_test! {
    // Proves that a named task reads its name inside (also after an await, so on any
    // poll), an unnamed one reads None, and block_on's own future (not a task) reads None.
    async fn a_task_reads_its_own_name() {
        let named = Builder::new()
            .name("conn 10.0.0.7")
            .spawn(async {
                let first = task::name();
                yield_now().await;
                (first, task::name())
            })
            .unwrap();
        let (first, later) = named.await.unwrap();
        assert_eq!(first.as_deref(), Some("conn 10.0.0.7"));
        assert_eq!(later.as_deref(), Some("conn 10.0.0.7"));
        let unnamed = runtime::spawn(async { task::name() });
        assert_eq!(unnamed.await.unwrap(), None);
        assert_eq!(Builder::new().spawn(async { task::name() }).unwrap().await.unwrap(), None);
        assert_eq!(task::name(), None);
    }

    // Proves that JoinError carries the name: a named task that panics and one that is
    // aborted both show it in `name()`, `Display` and `Debug`; an unnamed one shows none.
    async fn join_errors_show_the_task_name() {
        let panicked = Builder::new()
            .name("worker 7")
            .spawn(async { panic!("bad request") })
            .unwrap()
            .await
            .unwrap_err();
        assert!(panicked.is_panic());
        assert_eq!(panicked.name(), Some("worker 7"));
        assert_eq!(
            format!("{panicked:?}"),
            r#"JoinError::Panic { name: "worker 7", message: "bad request" }"#
        );
        assert_eq!(
            panicked.to_string(),
            r#"task "worker 7" panicked with message "bad request""#
        );

        let stuck = Builder::new().name("idle conn").spawn(pending::<()>()).unwrap();
        yield_now().await;
        stuck.abort();
        let aborted = stuck.await.unwrap_err();
        assert!(aborted.is_cancelled());
        assert_eq!(format!("{aborted:?}"), r#"JoinError::Cancelled { name: "idle conn" }"#);

        let unnamed = runtime::spawn(pending::<()>());
        unnamed.abort();
        assert_eq!(format!("{:?}", unnamed.await.unwrap_err()), "JoinError::Cancelled");
    }

    // Proves that `spawn_on` spawns onto the given runtime with the name, and that a named
    // `spawn_blocking` / `spawn_blocking_on` closure reads its name with `task::name()`.
    async fn spawn_on_and_spawn_blocking_carry_the_name() {
        let handle = runtime::Handle::current();
        let on = Builder::new()
            .name("on")
            .spawn_on(async { task::name() }, &handle)
            .unwrap();
        assert_eq!(on.await.unwrap().as_deref(), Some("on"));
        let blocking = Builder::new().name("fs read").spawn_blocking(task::name).unwrap();
        assert_eq!(blocking.await.unwrap().as_deref(), Some("fs read"));
        let blocking_on = Builder::new()
            .name("fs write")
            .spawn_blocking_on(task::name, &handle)
            .unwrap();
        assert_eq!(blocking_on.await.unwrap().as_deref(), Some("fs write"));
    }

    // Proves that any string is a name (an interior NUL, an empty string) and that a
    // builder can be reused (it is Copy) for several tasks.
    async fn any_string_is_a_name_and_a_builder_is_reusable() {
        let builder = Builder::new().name("a\0b");
        let first = builder.spawn(async { task::name() }).unwrap();
        let second = builder.spawn(async { task::name() }).unwrap();
        assert_eq!(first.await.unwrap().as_deref(), Some("a\0b"));
        assert_eq!(second.await.unwrap().as_deref(), Some("a\0b"));
        let empty = Builder::new().name("").spawn(async { task::name() }).unwrap();
        assert_eq!(empty.await.unwrap().as_deref(), Some(""));
    }

    // Proves that `Builder::spawn_local` returns InvalidInput (where `spawn_local` would
    // panic) on a runtime that is not a LocalRuntime.
    async fn spawn_local_off_a_local_runtime_is_invalid_input() {
        let err = Builder::new().name("local").spawn_local(async {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
}

// Proves that outside any runtime the builder's spawns return an error that says so,
// instead of panicking like `runtime::spawn`.
#[test]
fn builder_spawns_outside_a_runtime_return_an_error() {
    let err = Builder::new().name("x").spawn(async {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(err.to_string().contains("no runtime"), "{err}");
    let err = Builder::new().spawn_blocking(|| ()).unwrap_err();
    assert!(err.to_string().contains("no runtime"), "{err}");
    let err = Builder::new().spawn_local(async {}).unwrap_err();
    assert!(err.to_string().contains("no runtime"), "{err}");
}

// Proves that a named local task on a LocalRuntime reads its name, and that a
// LocalRuntime's `spawn_local` through the builder works on its own thread.
#[test]
fn a_named_local_task_reads_its_name() {
    let rt = runtime::Builder::new_current_thread()
        .build_local()
        .unwrap();
    let name = rt.block_on(async {
        let rc = std::rc::Rc::new("local");
        Builder::new()
            .name("local task")
            .spawn_local(async move {
                let _not_send = rc;
                task::name()
            })
            .unwrap()
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("local task"));
}
