//! Building the scheduler, starting its worker threads, and waiting for them to stop.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::idle::Idle;
use super::park::{Parker, SharedDriver};
use super::spawner::{Shared, Spawner};
use super::worker::{self, Core};
use crate::blocking::Hook;
use crate::driver::{self, Driver};
use crate::long_poll::LongPollWatch;
use crate::metrics::WorkerCells;
use crate::scheduler;
use crate::scheduler::inject::Inject;
use crate::scheduler::shutdown_signal::ShutdownSignal;
use crate::task::OwnedTasks;

/// How the worker threads are made.
pub(crate) struct Config {
    pub(crate) num_workers: usize,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<Hook>,
    pub(crate) on_thread_stop: Option<Hook>,
    pub(crate) long_poll: Option<LongPollWatch>,
}

/// The cores built with the scheduler, waiting for their threads.
pub(crate) struct Launch {
    shared: Arc<Shared>,
    #[expect(
        clippy::vec_box,
        reason = "each core travels to its thread as one pointer"
    )]
    cores: Vec<Box<Core>>,
    config: Config,
}

/// The running worker threads; [`Workers::wait`] joins them at shutdown.
pub(crate) struct Workers {
    threads: Vec<thread::JoinHandle<()>>,
    running: Arc<Running>,
}

/// How many worker threads have not finished yet.
struct Running {
    count: Mutex<usize>,
    all_stopped: Condvar,
}

/// Builds the scheduler around `driver`: its spawner, and the workers to start.
pub(crate) fn build(
    driver: Driver,
    handle: driver::DriverHandle,
    config: Config,
) -> (Spawner, Launch) {
    let shared_driver = Arc::new(SharedDriver::new(driver, &handle.io));
    let (cores, remotes): (Vec<_>, Vec<_>) = (0..config.num_workers)
        .map(|index| worker::new_core(index, Parker::new(shared_driver.clone())))
        .unzip();
    let shared = Arc::new(Shared {
        remotes: remotes.into_boxed_slice(),
        inject: Inject::new(),
        idle: Idle::new(config.num_workers),
        // Sharded: every spawn and every finished task takes one of these locks.
        owned: OwnedTasks::with_shards(4 * config.num_workers),
        driver: shared_driver,
        worker_cells: (0..config.num_workers)
            .map(|_| WorkerCells::default())
            .collect(),
        shutdown: ShutdownSignal::new(),
        keep_tasks_at_stop: std::sync::atomic::AtomicBool::new(false),
        long_poll: config.long_poll.clone(),
        clock: handle.time.clock().clone(),
        shutdown_cores: Mutex::new(Vec::with_capacity(config.num_workers)),
    });
    let spawner = Spawner {
        shared: shared.clone(),
        driver: handle,
        block_ons: Mutex::default(),
        block_on_returned: Condvar::new(),
    };
    let launch = Launch {
        shared,
        cores,
        config,
    };
    (spawner, launch)
}

impl Launch {
    /// Starts one thread per core; each enters the runtime `handle`.
    ///
    /// # Errors
    ///
    /// The OS error if a thread cannot be started; the runtime is then shut down (the
    /// threads already started are joined) before returning.
    pub(crate) fn start(self, handle: &scheduler::SchedulerHandle) -> io::Result<Workers> {
        let Launch {
            shared,
            cores,
            config,
        } = self;
        let running = Arc::new(Running {
            count: Mutex::new(0),
            all_stopped: Condvar::new(),
        });
        let mut workers = Workers {
            threads: Vec::with_capacity(cores.len()),
            running,
        };
        let mut cores = cores.into_iter();
        while let Some(core) = cores.next() {
            // The name function is user code: if it panics, stop the workers already
            // started (they would run forever, unowned) before the panic goes on.
            let name =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (config.thread_name)()));
            let name = match name {
                Ok(name) => name,
                Err(payload) => {
                    abandon(handle, &shared, std::iter::once(core).chain(cores), workers);
                    std::panic::resume_unwind(payload);
                }
            };
            match spawn_worker(&shared, core, name, &config, handle, &workers.running) {
                Ok(thread) => workers.threads.push(thread),
                Err((core, e)) => {
                    abandon(handle, &shared, std::iter::once(core).chain(cores), workers);
                    return Err(e);
                }
            }
        }
        Ok(workers)
    }
}

/// A launch that cannot finish: hands in the cores that never got a thread, then stops
/// the workers already started and joins them.
fn abandon(
    handle: &scheduler::SchedulerHandle,
    shared: &Shared,
    unstarted: impl Iterator<Item = Box<Core>>,
    mut workers: Workers,
) {
    handle.shutdown_deferred();
    for core in unstarted {
        shared.shutdown_core(core);
    }
    workers.wait(None);
}

fn spawn_worker(
    shared: &Arc<Shared>,
    core: Box<Core>,
    name: String,
    config: &Config,
    handle: &scheduler::SchedulerHandle,
    running: &Arc<Running>,
) -> Result<thread::JoinHandle<()>, (Box<Core>, io::Error)> {
    let mut builder = thread::Builder::new().name(name);
    if let Some(size) = config.stack_size {
        builder = builder.stack_size(size);
    }
    // The core travels in a slot so a failed spawn can give it back.
    let slot = Arc::new(Mutex::new(Some(core)));
    let main = {
        let (shared, handle, slot, running) = (
            shared.clone(),
            handle.clone(),
            slot.clone(),
            running.clone(),
        );
        let (start, stop) = (
            config.on_thread_start.clone(),
            config.on_thread_stop.clone(),
        );
        move || {
            let _stopped = running.started();
            let core = slot.lock().take().expect("the core is given once");
            drop(slot);
            run_hook(start.as_ref());
            {
                let _enter = crate::context::enter_runtime(&handle);
                worker::run(shared, core);
            }
            run_hook(stop.as_ref());
        }
    };
    *running.count.lock() += 1;
    builder.spawn(main).map_err(|e| {
        running.stopped();
        let core = slot.lock().take().expect("the thread never started");
        (core, e)
    })
}

/// Runs a thread hook. A panic is caught (the panic hook has reported it) and the worker
/// goes on, as blocking threads do: a worker that died here would take its core with it,
/// and with every worker gone no task would ever run.
fn run_hook(hook: Option<&Hook>) {
    if let Some(hook) = hook {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook())) {
            crate::wake::discard_panic(payload);
        }
    }
}

impl Running {
    /// Counts the thread as stopped when the returned guard drops (also on a panic).
    fn started(self: &Arc<Self>) -> impl Drop + use<> {
        struct Stopped(Arc<Running>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.stopped();
            }
        }
        Stopped(self.clone())
    }

    fn stopped(&self) {
        let mut count = self.count.lock();
        *count -= 1;
        if *count == 0 {
            self.all_stopped.notify_all();
        }
    }
}

impl Workers {
    /// Waits for every worker to stop (after [`Spawner::shutdown`]), at most `timeout`
    /// (`None`: as long as it takes). Threads still running then are detached.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        {
            let mut count = self.running.count.lock();
            while *count > 0 {
                match deadline {
                    Some(deadline) => {
                        if self
                            .running
                            .all_stopped
                            .wait_until(&mut count, deadline)
                            .timed_out()
                        {
                            break;
                        }
                    }
                    None => self.running.all_stopped.wait(&mut count),
                }
            }
            if *count > 0 {
                // Timed out: detach the threads that are still busy.
                self.threads.clear();
                return;
            }
        }
        for thread in self.threads.drain(..) {
            // The worker has finished its work; this only reaps the thread. A panic there
            // was a bug in the worker loop, already reported on stderr.
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.threads.len())
            .field("running", &*self.running.count.lock())
            .finish()
    }
}

impl fmt::Debug for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launch")
            .field("cores", &self.cores.len())
            .finish_non_exhaustive()
    }
}
