//! The blocking pool's reservation handshake (`blocking.rs`, *No stranded job*): `spawn`
//! reserving a waiting thread races that thread's wakeup, timeout and exit, and
//! `shutdown` races `spawn`.
//!
//! The pool runs on loom threads through the facade. A timed wait under loom never
//! sleeps: it releases the lock, yields, and times out, missing any notification sent
//! meanwhile, so only the counts under the lock can hand the job over.

use std::io;
use std::time::Duration;

use crate::blocking::{BlockingPool, Config, Job, RunJob};
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::loom::thread;

/// How many jobs ran; the main thread waits on it. A stranded job leaves the main thread
/// waiting forever, which loom reports as a deadlock.
#[derive(Default)]
struct Done {
    ran: Mutex<usize>,
    changed: Condvar,
}

impl Done {
    fn job(done: &Arc<Done>) -> Job {
        let done = done.clone();
        Box::new(move || {
            *done.ran.lock() += 1;
            done.changed.notify_all();
        })
    }

    fn wait_for(&self, jobs: usize) {
        let mut ran = self.ran.lock();
        while *ran < jobs {
            self.changed.wait(&mut ran);
        }
    }
}

/// Jobs per model: the third meets the thread after one round of the handshake.
const JOBS: usize = 3;

fn pool(keep_alive: Duration) -> BlockingPool {
    BlockingPool::new(Config {
        max_threads: 1,
        keep_alive,
        ..Config::default()
    })
}

/// Three jobs, one thread at most, a keep-alive that (under loom) expires at every wait:
/// each later job reaches the thread whether it finds it busy, waiting (reserved, then
/// timing out instead of taking the notification), or gone (a new thread starts).
#[test]
fn loom_job_reserved_for_a_timing_out_thread_runs() {
    model(|| {
        let mut pool = pool(Duration::from_secs(1));
        let done = Arc::new(Done::default());
        for _ in 0..JOBS {
            assert!(pool.spawner().spawn(Done::job(&done)).is_ok());
        }
        done.wait_for(JOBS);
        pool.shutdown(None);
        assert_eq!(pool.spawner().num_threads(), 0);
    });
}

/// As above without keep-alive: a waiting thread sleeps until notified, and the
/// notification must reach it.
#[test]
fn loom_job_reserved_for_a_waiting_thread_runs() {
    model(|| {
        let mut pool = pool(Duration::MAX);
        let done = Arc::new(Done::default());
        for _ in 0..JOBS {
            assert!(pool.spawner().spawn(Done::job(&done)).is_ok());
        }
        done.wait_for(JOBS);
        pool.shutdown(None);
        assert_eq!(pool.spawner().num_threads(), 0);
        assert_eq!(pool.spawner().num_idle(), 0);
    });
}

/// Two threads spawn at once into a pool whose first thread is finishing its job or
/// going idle, with room for a second thread: each job runs, whether it reserves the idle
/// thread, starts a thread, or queues behind a busy one.
#[test]
fn loom_concurrent_spawns_each_reach_a_thread() {
    model(|| {
        let mut pool = BlockingPool::new(Config {
            max_threads: 2,
            keep_alive: Duration::MAX,
            ..Config::default()
        });
        let done = Arc::new(Done::default());
        assert!(pool.spawner().spawn(Done::job(&done)).is_ok());
        let spawners: Vec<_> = (0..2)
            .map(|_| {
                let (spawner, job) = (pool.spawner().clone(), Done::job(&done));
                thread::spawn(move || assert!(spawner.spawn(job).is_ok()))
            })
            .collect();
        for spawner in spawners {
            spawner.join().unwrap();
        }
        done.wait_for(3);
        pool.shutdown(None);
        assert_eq!(pool.spawner().num_threads(), 0);
    });
}

/// A job that counts whether it ran and when it was dropped.
struct Tracked {
    ran: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl RunJob for Tracked {
    fn run(self: Box<Self>) {
        self.ran.fetch_add(1, SeqCst);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

/// `spawn` on another thread races `shutdown(None)`: the job meets exactly one fate (it
/// runs, it comes back in `Err`, or shutdown drops it), and shutdown returns with every
/// pool thread joined.
#[test]
fn loom_spawn_vs_shutdown_gives_every_job_one_fate() {
    model(|| {
        let mut pool = pool(Duration::MAX);
        let (ran, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let spawner = pool.spawner().clone();
        let job = Box::new(Tracked {
            ran: ran.clone(),
            dropped: dropped.clone(),
        });
        let spawning = thread::spawn(move || match spawner.spawn(job) {
            Ok(()) => false,
            Err((job, err)) => {
                assert_eq!(err.kind(), io::ErrorKind::Other);
                drop(job);
                true
            }
        });
        pool.shutdown(None);
        let rejected = spawning.join().unwrap();
        assert_eq!(pool.spawner().num_threads(), 0);
        assert_eq!(pool.spawner().queue_depth(), 0);
        assert_eq!(dropped.load(SeqCst), 1, "the job is dropped exactly once");
        if rejected {
            assert_eq!(ran.load(SeqCst), 0, "a rejected job never runs");
        }
    });
}
