//! `Builder`: configures and builds a [`Runtime`].

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

mod determinism; // start_paused, auto_advance, rng_seed

pub(crate) use determinism::Determinism;

use crate::blocking::Hook;
use crate::long_poll::LongPollWatch;
use crate::{LocalRuntime, LongPoll, Runtime};

/// Builds a [`Runtime`] with custom settings.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_current_thread()
///     .thread_name("io")
///     .max_blocking_threads(16)
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    pub(crate) kind: Kind,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) thread_stack_size: Option<usize>,
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: Duration,
    pub(crate) on_thread_start: Option<Hook>,
    pub(crate) on_thread_stop: Option<Hook>,
    pub(crate) long_poll: Option<LongPollWatch>,
    pub(crate) determinism: Determinism,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    CurrentThread,
    MultiThread,
}

impl Builder {
    /// A builder for the current-thread flavor: every task runs on the thread that calls
    /// `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    /// A builder for the multi-thread flavor: a pool of worker threads (one per core by
    /// default) that run spawned tasks and steal from each other when idle, while
    /// `block_on` runs its future on the calling thread.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            thread_name: Arc::new(|| "runtime-worker".to_owned()),
            thread_stack_size: None,
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            on_thread_start: None,
            on_thread_stop: None,
            long_poll: None,
            determinism: Determinism::default(),
        }
    }

    /// Enables the I/O and time drivers. They are always on here; this exists so code
    /// written for tokio (`Builder::new_current_thread().enable_all().build()`) compiles.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Enables the I/O driver: always on; kept for tokio compatibility.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Enables the time driver: always on; kept for tokio compatibility.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Sets the number of worker threads of the multi-thread flavor (default: the
    /// available parallelism). Ignored by the current-thread flavor, as in tokio.
    ///
    /// Zero is refused by [`build`](Builder::build) with `ErrorKind::InvalidInput`.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Names the runtime's threads (workers and blocking threads).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// Names the runtime's threads with a function called for each new thread.
    ///
    /// A panic in `f` while [`build`](Builder::build) starts the workers reaches the caller
    /// of `build`, after the workers already started are stopped and joined.
    pub fn thread_name_fn(
        &mut self,
        f: impl Fn() -> String + Send + Sync + 'static,
    ) -> &mut Builder {
        self.thread_name = Arc::new(f);
        self
    }

    /// Sets the stack size of the runtime's threads.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// The most threads `spawn_blocking` may start (default 512). Jobs beyond that wait.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// Runs `f` on each of the runtime's threads (workers and blocking threads) as it
    /// starts, before it runs any task. A panic in `f` is caught (the panic hook reports
    /// it) and the thread goes on.
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each of the runtime's threads as it stops, after its last task. A panic
    /// in `f` is caught, as in [`on_thread_start`](Builder::on_thread_start).
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// The stall watchdog: calls `f` after every task poll that took longer than
    /// `threshold`, with the task's id and name and the poll's duration. Off by default,
    /// and then free; on, each poll is timed (two `Instant::now()`).
    ///
    /// `f` runs on the thread that ran the poll, right after it, so it should be quick
    /// (log, count). It covers the polls of spawned tasks (`spawn`, `spawn_local`), not
    /// `block_on`'s own future (not a task) nor `spawn_blocking` closures (expected to
    /// block). A panic in `f` is caught: the panic hook reports it as usual and the
    /// worker goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .on_long_poll(Duration::from_millis(50), |poll| {
    ///         eprintln!("stall: task {} {:?} took {:?}", poll.id(), poll.name(), poll.duration());
    ///     })
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_long_poll(
        &mut self,
        threshold: Duration,
        f: impl Fn(&LongPoll) + Send + Sync + 'static,
    ) -> &mut Builder {
        self.long_poll = Some(LongPollWatch {
            threshold,
            callback: Arc::new(f),
        });
        self
    }

    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, duration: Duration) -> &mut Builder {
        self.thread_keep_alive = duration;
        self
    }

    /// Builds the runtime: opens its poller and waker (both close-on-exec).
    ///
    /// # Errors
    ///
    /// The OS error from creating the poller or waker (e.g. `EMFILE`) or from starting a
    /// worker thread; `InvalidInput` for `worker_threads(0)`.
    pub fn build(&mut self) -> io::Result<Runtime> {
        match self.kind {
            Kind::CurrentThread => Runtime::build_current_thread(self, None),
            Kind::MultiThread => Runtime::build_multi_thread(self, self.num_workers()?),
        }
    }

    /// Builds a [`LocalRuntime`]: a current-thread runtime bound to this thread, which can
    /// run `!Send` futures with [`spawn_local`](crate::task::spawn_local).
    ///
    /// # Errors
    ///
    /// As [`build`](Builder::build); `InvalidInput` on a multi-thread builder, whose tasks
    /// move between threads.
    pub fn build_local(&mut self) -> io::Result<LocalRuntime> {
        if self.kind != Kind::CurrentThread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "build_local: only the current-thread flavor can run !Send tasks; use \
                 Builder::new_current_thread()",
            ));
        }
        let owner = std::thread::current().id();
        Runtime::build_current_thread(self, Some(owner)).map(LocalRuntime::new)
    }

    /// The multi-thread flavor's worker count: as set, or the available parallelism.
    fn num_workers(&self) -> io::Result<usize> {
        match self.worker_threads {
            Some(0) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "worker_threads: a multi-thread runtime needs at least 1 worker thread",
            )),
            Some(n) => Ok(n),
            None => Ok(std::thread::available_parallelism().map_or(1, usize::from)),
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("long_poll", &self.long_poll)
            .field("determinism", &self.determinism)
            .finish_non_exhaustive()
    }
}
