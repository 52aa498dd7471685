//! The sharded task registry (`task/owned.rs`): binds on other threads racing
//! `close_and_shutdown_all`, with two shards so a bind and the close can be in different
//! shards' locks at once.

use loom::future::block_on;

use super::{Drops, Sched};
use crate::loom::model;
use crate::loom::thread;

/// Two threads bind a task each while the main thread closes the registry: each task is
/// registered before its shard closed (and the close cancels it) or refused and cancelled
/// at once. None survives in the registry, each future is dropped once, and each handle
/// resolves to cancelled (nobody runs the queue before the close).
#[test]
fn loom_binds_racing_a_sharded_close_are_all_cancelled() {
    model(|| {
        let sched = Sched::with_shards(2);
        let futures = Drops::default();
        let binders: Vec<_> = (0..2)
            .map(|_| {
                let (sched, guard) = (sched.clone(), futures.guard());
                thread::spawn(move || sched.spawn(async move { drop(guard) }))
            })
            .collect();
        sched.0.owned.close_and_shutdown_all();
        for binder in binders {
            let join = binder.join().unwrap();
            assert!(block_on(join).unwrap_err().is_cancelled());
        }
        assert!(sched.0.owned.is_empty(), "a task survived the close");
        assert_eq!(futures.count(), 2);
        sched.shutdown();
    });
}
