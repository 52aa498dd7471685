//! Graceful shutdown: the grace period of [`Runtime::shutdown_gracefully`], its
//! [`ShutdownReport`], and [`shutdown_started`], which tasks await to learn that it began.
//!
//! The steps, on the caller's thread (the signal's protocol is in
//! `scheduler/shutdown_signal.rs`):
//!
//! 1. Read how many tasks have completed so far (`OwnedTasks::completed`).
//! 2. Begin: set the signal, which wakes every `shutdown_started()` waiter and closes the
//!    spawn gate to threads outside the runtime.
//! 3. Drive the runtime (`block_on`, so the current-thread flavor runs its tasks on this
//!    thread) until no task is left or the deadline passes.
//! 4. Stop whatever polls tasks (`quiesce`: the multi-thread flavor's workers, which
//!    leave the tasks registered), so no task is mid-poll when they are counted.
//! 5. Close the task registry and cancel what is in it, counting: the tasks completed
//!    since step 1 are `finished`, those cancelled here are `cancelled`.
//!
//! `Runtime` then stops its blocking pool as any shutdown does, bounded by the same
//! deadline, and counts the blocking jobs it had to detach.
//!
//! [`Runtime::shutdown_gracefully`]: crate::Runtime::shutdown_gracefully

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::context;
use crate::scheduler::SchedulerHandle;
use crate::task::ClosedCount;

/// What [`Runtime::shutdown_gracefully`](crate::Runtime::shutdown_gracefully) did.
///
/// Counts cover the runtime's async tasks (spawned with `spawn` or `spawn_local`); its
/// blocking jobs appear only in [`detached_blocking`](ShutdownReport::detached_blocking).
/// Every task alive when the shutdown began, or spawned from inside the runtime during the
/// grace period, is counted exactly once: `finished` or `cancelled`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Runtime::new()?;
/// rt.spawn(async {
///     runtime::shutdown_started().await; // stop accepting, close idle connections ...
/// });
/// let report = rt.shutdown_gracefully(Duration::from_secs(5));
/// assert_eq!((report.finished(), report.cancelled()), (1, 0));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    finished: usize,
    cancelled: usize,
    detached_blocking: usize,
    cancelled_names: Vec<Arc<str>>,
}

impl ShutdownReport {
    pub(crate) fn new(tasks: ClosedCount, detached_blocking: usize) -> ShutdownReport {
        ShutdownReport {
            finished: tasks.finished,
            cancelled: tasks.cancelled,
            detached_blocking,
            cancelled_names: tasks.cancelled_names,
        }
    }

    /// Tasks that completed during the grace period, in any way (their future returned,
    /// panicked, or was aborted through its `JoinHandle`): those alive when the shutdown
    /// began, and those spawned from inside the runtime during it.
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// Tasks still alive at the deadline, which the shutdown cancelled (their futures were
    /// dropped; their `JoinHandle`s resolve to a cancelled `JoinError`). The count is taken
    /// once the workers have stopped, so no task is mid-poll then; the one exception is a
    /// task whose single poll blocks its worker for more than 100 ms past the deadline:
    /// the worker is detached and that task counts here even if its poll completes it.
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }

    /// Blocking jobs (`spawn_blocking`) still running at the deadline: their threads were
    /// detached and finish the job on their own. Jobs still queued, not started, when the
    /// pool shut down (once no task was left, or at the deadline) were dropped, and are
    /// not counted.
    pub fn detached_blocking(&self) -> usize {
        self.detached_blocking
    }

    /// The names of the cancelled tasks that had one
    /// ([`task::Builder::name`](crate::task::Builder::name)), in no particular order.
    pub fn cancelled_names(&self) -> &[Arc<str>] {
        &self.cancelled_names
    }
}

/// Resolves once a graceful shutdown of the current runtime has begun
/// ([`Runtime::shutdown_gracefully`](crate::Runtime::shutdown_gracefully)), so a server can
/// stop accepting and close idle keep-alive connections. See also
/// [`Handle::shutdown_started`](crate::Handle::shutdown_started) and
/// [`Handle::is_shutting_down`](crate::Handle::is_shutting_down).
///
/// A plain shutdown (dropping the runtime, `shutdown_timeout`) also sets it, though its
/// tasks are cancelled at once and seldom see it.
///
/// The runtime is looked up on the first poll, so `rt.spawn(runtime::shutdown_started())`
/// works from outside.
///
/// # Panics
///
/// When first polled outside a runtime, with a message saying where it works.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Runtime::new()?;
/// let listener = rt.spawn(async {
///     // Accept connections until the shutdown begins (here: just wait for it).
///     runtime::shutdown_started().await;
///     "listener closed"
/// });
/// rt.shutdown_gracefully(Duration::from_secs(5));
/// assert_eq!(runtime::Builder::new_current_thread().build()?.block_on(listener).unwrap(), "listener closed");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn shutdown_started() -> ShutdownStarted {
    ShutdownStarted {
        runtime: None,
        key: None,
    }
}

/// The future of [`shutdown_started`] and
/// [`Handle::shutdown_started`](crate::Handle::shutdown_started).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ShutdownStarted {
    /// The runtime; `None` until the first poll for [`shutdown_started`].
    runtime: Option<SchedulerHandle>,
    /// Our entry in the signal's waiter list, once registered.
    key: Option<usize>,
}

impl ShutdownStarted {
    pub(crate) fn new(runtime: SchedulerHandle) -> ShutdownStarted {
        ShutdownStarted {
            runtime: Some(runtime),
            key: None,
        }
    }
}

impl Future for ShutdownStarted {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let runtime = this
            .runtime
            .get_or_insert_with(|| context::current("runtime::shutdown_started()"));
        runtime.shutdown_signal().poll_started(cx, &mut this.key)
    }
}

impl Drop for ShutdownStarted {
    fn drop(&mut self) {
        if let Some(runtime) = &self.runtime {
            runtime.shutdown_signal().unregister(&mut self.key);
        }
    }
}

impl fmt::Debug for ShutdownStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let started = self
            .runtime
            .as_ref()
            .map(|runtime| runtime.shutdown_signal().is_started());
        f.debug_struct("ShutdownStarted")
            .field("started", &started)
            .finish_non_exhaustive()
    }
}

/// Steps 1 to 5 of the module docs; `deadline` `None` means no limit.
pub(crate) fn run_grace_period(
    runtime: &SchedulerHandle,
    deadline: Option<Instant>,
    quiesce: impl FnOnce(),
) -> ClosedCount {
    let completed_before = runtime.tasks_completed();
    runtime.shutdown_signal().begin();
    {
        let _running = context::enter_runtime(runtime);
        runtime.block_on(until_drained_or(runtime, deadline));
    }
    quiesce();
    // Futures dropped here may spawn, sleep or touch I/O: give them a context.
    let _enter = context::set_current(runtime);
    runtime.close_and_count_tasks(completed_before)
}

/// Resolves when no task is left, or at `deadline`.
fn until_drained_or(
    runtime: &SchedulerHandle,
    deadline: Option<Instant>,
) -> impl Future<Output = ()> + '_ {
    let mut sleep = deadline.map(crate::time::sleep_until);
    std::future::poll_fn(move |cx| {
        let signal = runtime.shutdown_signal();
        if signal
            .poll_drained(cx, || runtime.has_no_tasks())
            .is_ready()
        {
            return Poll::Ready(());
        }
        match &mut sleep {
            Some(sleep) => Pin::new(sleep).poll(cx),
            None => Poll::Pending,
        }
    })
}
