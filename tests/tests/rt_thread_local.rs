//! A runtime kept in a `thread_local!`, dropped during thread teardown.

use std::cell::RefCell;

use tests::rt_test;

thread_local! {
    static RT: RefCell<Option<runtime::Runtime>> = const { RefCell::new(None) };
}

rt_test! {
    // Proves that a runtime stored in a `thread_local!` and dropped when its thread exits
    // shuts down cleanly. Review finding B4: its shutdown touched the runtime's own
    // thread-locals, which may already be destroyed then, and the process aborted with
    // "thread local panicked on drop". The thread must exit normally (join is `Ok`).
    fn runtime_in_a_thread_local_drops_cleanly_at_thread_exit(flavor) {
        let worker = std::thread::spawn(move || {
            RT.with(|slot| {
                let rt = flavor.build();
                let pending = rt.spawn(std::future::pending::<()>());
                drop(pending);
                assert_eq!(rt.block_on(async { 7 }), 7);
                *slot.borrow_mut() = Some(rt);
            });
        });
        worker
            .join()
            .expect("the thread (and the runtime in its TLS) exited cleanly");
    }
}
