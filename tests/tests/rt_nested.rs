//! Runtimes created and dropped inside another runtime's tasks.

use std::time::Duration;

use tests::rt_test;

rt_test! {
    // Proves that dropping runtime B inside a task of runtime A leaves A's run queue
    // intact: B's shutdown installs its own queue on this thread and must put A's back.
    // Steps: A spawns `before` (queued), a task builds, uses and drops B, then A's queued
    // and later-spawned tasks still run to completion.
    fn dropping_a_runtime_inside_another_keeps_the_outer_queue(flavor) {
        let outer = flavor.build();
        let total = outer.block_on(async move {
            let before = runtime::spawn(async { 1 });
            let inner_result = runtime::spawn(async move {
                let inner = flavor.build();
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
}
