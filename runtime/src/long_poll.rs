//! The stall watchdog: [`Builder::on_long_poll`](crate::Builder::on_long_poll) times every
//! task poll and reports those longer than a threshold to a callback, right after the
//! poll, on the thread that ran it.
//!
//! Off by default; then a scheduler's poll path is one branch on an `Option` that is
//! `None` for the runtime's whole life. On, it costs two `Instant::now()` per poll and,
//! for a named task, one `Arc` clone of its name.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::task::{Id, Notified, Schedule};

/// One task poll that took longer than the threshold given to
/// [`Builder::on_long_poll`](crate::Builder::on_long_poll).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new_current_thread()
///     .on_long_poll(Duration::from_millis(100), |poll: &runtime::LongPoll| {
///         eprintln!("task {} ({:?}) blocked its thread for {:?}", poll.id(), poll.name(), poll.duration());
///     })
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LongPoll {
    id: Id,
    name: Option<Arc<str>>,
    duration: Duration,
}

impl LongPoll {
    /// The id of the task whose poll it was.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was spawned with one
    /// ([`task::Builder::name`](crate::task::Builder::name)).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// How long the poll took, measured around the whole poll (the future's `poll`, and
    /// dropping the future if the poll finished it).
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Debug for LongPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LongPoll")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("duration", &self.duration)
            .finish()
    }
}

/// The callback of [`Builder::on_long_poll`](crate::Builder::on_long_poll).
pub(crate) type LongPollCallback = Arc<dyn Fn(&LongPoll) + Send + Sync>;

/// A runtime's watchdog settings; the schedulers hold an `Option` of it.
#[derive(Clone)]
pub(crate) struct LongPollWatch {
    pub(crate) threshold: Duration,
    pub(crate) callback: LongPollCallback,
}

/// Runs `task` once; with a watchdog, times the run and reports it if it was long.
#[inline]
pub(crate) fn run_task<S: Schedule>(task: Notified<S>, watch: Option<&LongPollWatch>) {
    match watch {
        None => task.run(),
        Some(watch) => watch.run_timed(task),
    }
}

impl LongPollWatch {
    #[inline(never)]
    fn run_timed<S: Schedule>(&self, task: Notified<S>) {
        // Read before the run: the task may be freed by it.
        let (id, name) = (task.id(), task.name());
        let start = Instant::now();
        task.run();
        let duration = start.elapsed();
        if duration > self.threshold {
            self.report(&LongPoll { id, name, duration });
        }
    }

    /// Calls the callback. A panic in it is caught so the worker (and the tasks queued
    /// on it) survive; the panic hook has already printed it, so it is not silent.
    fn report(&self, poll: &LongPoll) {
        let callback = &self.callback;
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| callback(poll))) {
            // A payload whose own destructor panics is leaked rather than re-raised.
            if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
        }
    }
}

impl fmt::Debug for LongPollWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LongPollWatch")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}
