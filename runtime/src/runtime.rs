//! `Runtime`: owns the scheduler, the driver and the blocking pool.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocking::{self, BlockingPool, BlockingTasks};
use crate::builder::Builder;
use crate::context;
use crate::driver::Driver;
use crate::handle::{EnterGuard, Handle};
use crate::scheduler::{self, Flavor, current_thread, multi_thread};
use crate::shutdown::{self as graceful, ShutdownReport};
use crate::task::{JoinHandle, boxes};

/// How long a graceful shutdown waits for its workers past the deadline, at least: its
/// tasks are cancelled by then, so a worker only has to notice and exit, unless it is
/// still inside a poll that ignores the deadline (it is then detached).
const WORKER_STOP_SLACK: Duration = Duration::from_millis(100);

/// The runtime: a scheduler, an I/O and timer driver, and a blocking pool.
///
/// Dropping it drops every task (each future's destructor runs exactly once), waits for
/// the blocking threads, and closes every descriptor it opened (poller, waker, and the
/// registrations of its I/O resources). The poller and waker stay open only while
/// something outside the runtime still refers to them: a kept [`Handle`], or an `AsyncFd`
/// or `Sleep` the application holds outside any task; they close with the last of those.
/// Use [`shutdown_timeout`](Runtime::shutdown_timeout) to bound the wait on blocking
/// threads, or [`shutdown_gracefully`](Runtime::shutdown_gracefully) to give the tasks
/// time to finish first and get a [`ShutdownReport`] of what happened. If another thread is inside `block_on` through
/// a [`Handle`], the drop first waits for that `block_on` to return; a `Handle::block_on`
/// after the drop panics.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build()?;
/// let task = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(task).unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Runtime {
    handle: Handle,
    blocking_pool: BlockingPool,
    /// The multi-thread flavor's worker threads; taken by the first shutdown.
    workers: Option<multi_thread::Workers>,
    /// The first shutdown (by `shutdown_timeout` or the drop) did it all.
    is_shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// A current-thread runtime; `owner` binds it to that thread (a `LocalRuntime`).
    pub(crate) fn build_current_thread(
        builder: &Builder,
        owner: Option<std::thread::ThreadId>,
    ) -> io::Result<Runtime> {
        let (driver, driver_handle) = Driver::new()?;
        configure_clock(builder, &driver_handle);
        let blocking_pool = BlockingPool::new(blocking_config(builder));
        let scheduler = current_thread::CurrentThread::new(
            driver,
            driver_handle,
            owner,
            builder.long_poll.clone(),
            builder.determinism.rng_seed,
        );
        let handle = runtime_handle(Flavor::CurrentThread(scheduler), &blocking_pool);
        Ok(Runtime {
            handle,
            blocking_pool,
            workers: None,
            is_shut_down: false,
        })
    }

    pub(crate) fn build_multi_thread(builder: &Builder, num_workers: usize) -> io::Result<Runtime> {
        let (driver, driver_handle) = Driver::new()?;
        configure_clock(builder, &driver_handle);
        let blocking_pool = BlockingPool::new(blocking_config(builder));
        let (spawner, launch) = multi_thread::build(
            driver,
            driver_handle,
            multi_thread::Config {
                num_workers,
                thread_name: builder.thread_name.clone(),
                stack_size: builder.thread_stack_size,
                on_thread_start: builder.on_thread_start.clone(),
                on_thread_stop: builder.on_thread_stop.clone(),
                long_poll: builder.long_poll.clone(),
            },
        );
        let handle = runtime_handle(Flavor::MultiThread(spawner), &blocking_pool);
        let workers = launch.start(&handle.inner)?;
        Ok(Runtime {
            handle,
            blocking_pool,
            workers: Some(workers),
            is_shut_down: false,
        })
    }

    /// Runs `future` to completion on this thread, with the runtime's tasks, I/O and
    /// timers.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime (a task or another `block_on`); `.await` instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // A large future goes to the heap here, before it is moved again.
        if const { boxes::<F>() } {
            self.handle.block_on(Box::pin(future))
        } else {
            self.handle.block_on(future)
        }
    }

    /// Spawns a task; it runs while some thread is inside `block_on`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // A large future goes to the heap here, before it is moved again.
        if const { boxes::<F>() } {
            self.handle.spawn(Box::pin(future))
        } else {
            self.handle.spawn(future)
        }
    }

    /// Runs a blocking function on the blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A live view of the runtime's counters (see [`RuntimeMetrics`](crate::RuntimeMetrics)).
    pub fn metrics(&self) -> crate::RuntimeMetrics {
        self.handle.metrics()
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for worker and blocking threads; threads still
    /// busy then are detached (their results are dropped).
    ///
    /// # Panics
    ///
    /// As the drop does, if called from inside this runtime with a non-zero `timeout`.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down gracefully: tasks get until `deadline` from now to finish, then the rest
    /// are cancelled. Returns what happened, counted exactly ([`ShutdownReport`]).
    ///
    /// 1. The shutdown begins: [`shutdown_started`](crate::shutdown_started) futures (and
    ///    [`Handle::shutdown_started`]) resolve and [`Handle::is_shutting_down`] turns
    ///    true, so a server can stop accepting and close idle keep-alive connections.
    ///    From then on, spawns from threads outside the runtime (through a kept
    ///    [`Handle`], or after [`Handle::enter`], or from a `spawn_blocking` closure) are
    ///    refused: the future is dropped and its `JoinHandle` resolves to a cancelled
    ///    `JoinError`. Spawns from inside (its tasks, on its workers) are still accepted
    ///    during the grace period: a connection handler may need one.
    /// 2. Until every task has finished or the deadline passes, the runtime runs as
    ///    usual; the current-thread flavor runs its tasks on this thread meanwhile.
    ///    It returns early once no task is left.
    /// 3. At the deadline the workers are stopped and joined (waiting at most 100 ms past
    ///    the deadline for one stuck in a poll), then the tasks still alive are cancelled
    ///    (their futures dropped, on this thread).
    /// 4. The blocking pool is shut down: its jobs get until the deadline, and those
    ///    still running then are detached and counted.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime, this one or another (a task or a `block_on`): the
    /// grace period needs this thread to wait, and for the current-thread flavor to run
    /// the tasks. The runtime is then shut down by the drop, without grace.
    pub fn shutdown_gracefully(mut self, deadline: Duration) -> ShutdownReport {
        assert!(
            !crate::context::is_running(&self.handle.inner),
            "shutdown_gracefully: called from inside this runtime (one of its tasks or its \
             `block_on` future), where it would wait for this very thread; call it from \
             outside, or use `shutdown_background()`"
        );
        let deadline = Instant::now().checked_add(deadline);
        let runtime = self.handle.inner.clone();
        let tasks = graceful::run_grace_period(&runtime, deadline, || {
            runtime.stop_workers_keeping_tasks();
            self.wait_for_workers(deadline, WORKER_STOP_SLACK);
        });
        // Only now: if the grace period panicked, the drop still shuts everything down.
        self.is_shut_down = true;
        let detached_blocking = self.stop_threads(deadline, WORKER_STOP_SLACK);
        ShutdownReport::new(tasks, detached_blocking)
    }

    /// Shuts down without waiting for worker or blocking threads (they are detached).
    ///
    /// Called from inside this runtime (one of its tasks, or its `block_on` future), it
    /// does not panic: the tasks are dropped once the scheduler is free (for the
    /// current-thread flavor, when that `block_on` returns).
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.is_shut_down, true) {
            return;
        }
        if context::is_running(&self.handle.inner) {
            self.shutdown_from_inside(timeout);
            return;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        self.stop_threads(deadline, Duration::ZERO);
    }

    /// Drops every task, then waits for the workers until `deadline` (but at least
    /// `worker_slack`) and for the blocking pool until `deadline`. Returns how many
    /// blocking jobs were still running and had their threads detached.
    fn stop_threads(&mut self, deadline: Option<Instant>, worker_slack: Duration) -> usize {
        self.handle.inner.shutdown_signal().begin();
        {
            // Futures dropped here may spawn, sleep or touch I/O: give them a context.
            let _enter = self.handle.enter();
            self.handle.inner.shutdown();
        }
        self.wait_for_workers(deadline, worker_slack);
        let detached = self.blocking_pool.shutdown(remaining(deadline));
        self.handle.inner.shutdown_blocking();
        detached
    }

    /// Joins the multi-thread flavor's workers (once they were told to stop), waiting
    /// until `deadline` but at least `slack`; any still running then are detached.
    fn wait_for_workers(&mut self, deadline: Option<Instant>, slack: Duration) {
        if let Some(mut workers) = self.workers.take() {
            workers.wait(remaining(deadline).map(|left| left.max(slack)));
        }
    }
}

impl Runtime {
    /// Dropped (or shut down) by its own task or inside its own `block_on`: waiting for the
    /// scheduler would wait for this very thread. Shut down without waiting, so nothing
    /// leaks, then refuse the blocking drop loudly, as tokio does.
    fn shutdown_from_inside(&mut self, timeout: Option<Duration>) {
        self.handle.inner.shutdown_signal().begin();
        {
            let _enter = self.handle.enter();
            self.handle.inner.shutdown_deferred();
        }
        drop(self.workers.take()); // detached; they stop by themselves
        self.blocking_pool.shutdown(Some(Duration::ZERO));
        self.handle.inner.shutdown_blocking();
        if timeout != Some(Duration::ZERO) && !std::thread::panicking() {
            panic!(
                "a runtime was dropped from inside itself (one of its tasks or its `block_on` \
                 future): a drop waits for the runtime's threads, here that is this very \
                 thread. The runtime is shut down in the background instead; drop it outside \
                 the runtime, or call `shutdown_background()`"
            );
        }
    }
}

/// `start_paused` and `auto_advance` from the builder.
fn configure_clock(builder: &Builder, driver: &crate::driver::DriverHandle) {
    let clock = driver.time.clock();
    clock.set_auto_advance(builder.determinism.auto_advance);
    if builder.determinism.start_paused {
        clock.pause().expect("a new clock runs");
    }
}

/// The blocking pool's settings from the builder.
fn blocking_config(builder: &Builder) -> blocking::Config {
    blocking::Config {
        max_threads: builder.max_blocking_threads,
        keep_alive: builder.thread_keep_alive,
        thread_name: builder.thread_name.clone(),
        stack_size: builder.thread_stack_size,
        after_start: builder.on_thread_start.clone(),
        before_stop: builder.on_thread_stop.clone(),
        ..blocking::Config::default()
    }
}

/// The runtime's `Handle` around its scheduler and blocking pool.
fn runtime_handle(flavor: Flavor, blocking_pool: &BlockingPool) -> Handle {
    let spawner = blocking_pool.spawner().clone();
    let clock = match &flavor {
        Flavor::CurrentThread(s) => s.driver.time.clock().clone(),
        Flavor::MultiThread(s) => s.driver.time.clock().clone(),
    };
    let inner = Arc::new_cyclic(|runtime| scheduler::Inner {
        flavor,
        blocking: BlockingTasks::new(spawner, runtime.clone(), clock),
    });
    Handle {
        inner: scheduler::SchedulerHandle { inner },
    }
}

/// Time left until `deadline` (`None`: no limit).
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}
