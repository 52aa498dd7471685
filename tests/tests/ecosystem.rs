//! What this runtime leaves to the ecosystem works on it unchanged: README's "Coming from
//! tokio" names a crate for sync primitives, channels, files, child processes and
//! `select!`/`join!`, and each case here shows one of them inside a runtime task, on both
//! flavors. None of these crates knows about this runtime: they need only wakers.

use std::time::Duration;

use futures_util::FutureExt;
use runtime::time::sleep;
use tests::rt_test;

rt_test! {
    // async-lock: a mutex held across an `.await` by many tasks; no update is lost.
    async fn async_lock_mutex_across_await() {
        let counter = std::sync::Arc::new(async_lock::Mutex::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let counter = counter.clone();
                runtime::spawn(async move {
                    for _ in 0..10 {
                        let mut n = counter.lock().await;
                        runtime::task::yield_now().await;
                        *n += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*counter.lock().await, 80);
    }

    // async-channel: a bounded MPMC channel between tasks; the receiver sees every message
    // and then the close.
    async fn async_channel_between_tasks() {
        let (tx, rx) = async_channel::bounded(2);
        let producer = runtime::spawn(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0;
        while let Ok(i) = rx.recv().await {
            sum += i;
        }
        producer.await.unwrap();
        assert_eq!(sum, (0..100).sum::<i32>());
    }

    // futures-channel: tokio's `oneshot` and `mpsc` have their counterparts in
    // `futures::channel`.
    async fn futures_channel_oneshot_and_mpsc() {
        use futures_util::StreamExt;

        let (reply, answer) = futures_channel::oneshot::channel();
        let (tx, rx) = futures_channel::mpsc::unbounded();
        runtime::spawn(async move {
            let got: Vec<u32> = rx.collect().await;
            reply.send(got.len()).unwrap();
        });
        for i in 0..10u32 {
            tx.unbounded_send(i).unwrap();
        }
        drop(tx);
        assert_eq!(answer.await.unwrap(), 10);
    }

    // Files: std::fs on the blocking pool, through `runtime::spawn_blocking` or the
    // `blocking` crate's `unblock` (smol's way; its own thread pool).
    async fn fs_on_spawn_blocking_and_blocking_unblock() {
        // One file per case (the two flavors run in parallel, each in its own thread's
        // `block_on`).
        let case = std::thread::current().id();
        let name = format!("ecosystem-fs-{}-{case:?}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let p = path.clone();
        runtime::spawn_blocking(move || std::fs::write(p, b"hello"))
            .await
            .unwrap()
            .unwrap();
        let p = path.clone();
        let read = blocking::unblock(move || std::fs::read(p)).await.unwrap();
        assert_eq!(read, b"hello");
        blocking::unblock(move || std::fs::remove_file(path)).await.unwrap();
    }

    // async-process: a child process's output, awaited from a task.
    async fn async_process_output() {
        let out = async_process::Command::new("echo")
            .arg("hello")
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"hello\n");
    }

    // futures-util's `select!` and `join!` (tokio's macros of the same names): the first
    // ready branch wins, and `join!` waits for all.
    async fn futures_select_and_join() {
        let fast = sleep(Duration::from_millis(1)).fuse();
        let slow = sleep(Duration::from_secs(60)).fuse();
        futures_util::pin_mut!(fast, slow);
        let winner = futures_util::select! {
            () = fast => "fast",
            () = slow => "slow",
        };
        assert_eq!(winner, "fast");

        let (a, b) = futures_util::join!(runtime::spawn(async { 1 }), async {
            sleep(Duration::from_millis(1)).await;
            2
        });
        assert_eq!(a.unwrap() + b, 3);
    }
}
