//! Runtimes created and dropped inside another runtime's tasks.

use std::time::Duration;

/// Proves that dropping runtime B inside a task of runtime A leaves A's local run queue
/// intact: B's shutdown installs its own queue on this thread and must put A's back.
/// Steps: A spawns `before` (queued locally), a task builds, uses and drops B, then A's
/// queued and later-spawned tasks still run to completion.
#[test]
fn dropping_a_runtime_inside_another_keeps_the_outer_queue() {
    let outer = runtime::Builder::new_current_thread().build().unwrap();
    let total = outer.block_on(async {
        let before = runtime::spawn(async { 1 });
        let inner_result = runtime::spawn(async {
            let inner = runtime::Builder::new_current_thread().build().unwrap();
            let parked = inner.spawn(std::future::pending::<()>());
            drop(inner);
            parked.await.unwrap_err().is_cancelled()
        })
        .await
        .unwrap();
        assert!(
            inner_result,
            "the inner runtime's task was cancelled by its drop"
        );
        let after = runtime::spawn(async {
            runtime::time::sleep(Duration::from_millis(1)).await;
            2
        });
        before.await.unwrap() + after.await.unwrap()
    });
    assert_eq!(total, 3);
}
