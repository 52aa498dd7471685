//! `Runtime`: owns the scheduler, the driver and the blocking pool.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::blocking::{self, BlockingPool, BlockingTasks};
use crate::builder::Builder;
use crate::driver::Driver;
use crate::handle::{EnterGuard, Handle};
use crate::scheduler::{self, Flavor, current_thread};
use crate::task::{JoinHandle, boxes};

/// The runtime: a scheduler, an I/O and timer driver, and a blocking pool.
///
/// Dropping it drops every task (each future's destructor runs exactly once), waits for
/// the blocking threads, and closes every descriptor it opened (poller, waker, and the
/// registrations of its I/O resources). The poller and waker stay open only while
/// something outside the runtime still refers to them: a kept [`Handle`], or an `AsyncFd`
/// or `Sleep` the application holds outside any task; they close with the last of those. Use [`shutdown_timeout`](Runtime::shutdown_timeout)
/// to bound the wait on blocking threads. If another thread is inside `block_on` through
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
}

impl Runtime {
    /// A multi-thread runtime with default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]; the multi-thread flavor is not available yet.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn build_current_thread(builder: &Builder) -> io::Result<Runtime> {
        let (driver, driver_handle) = Driver::new()?;
        let blocking_pool = BlockingPool::new(blocking::Config {
            max_threads: builder.max_blocking_threads,
            keep_alive: builder.thread_keep_alive,
            thread_name: builder.thread_name.clone(),
            stack_size: builder.thread_stack_size,
            ..blocking::Config::default()
        });
        let scheduler = current_thread::Handle::new(driver, driver_handle);
        let spawner = blocking_pool.spawner().clone();
        let inner = Arc::new_cyclic(|runtime| scheduler::Inner {
            flavor: Flavor::CurrentThread(scheduler),
            blocking: BlockingTasks::new(spawner, runtime.clone()),
        });
        let handle = Handle {
            inner: scheduler::Handle { inner },
        };
        Ok(Runtime {
            handle,
            blocking_pool,
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

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for blocking threads; threads still busy then
    /// are detached (their results are dropped).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for blocking threads (they are detached).
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        {
            // Futures dropped here may spawn, sleep or touch I/O: give them a context.
            let _enter = self.handle.enter();
            self.handle.inner.shutdown();
        }
        self.blocking_pool.shutdown(timeout);
        self.handle.inner.shutdown_blocking();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}
