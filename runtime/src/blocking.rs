//! The blocking pool: threads that run jobs which may block, away from the event loop.
//!
//! The pool knows nothing of tasks. `spawn_blocking` wraps its closure in a task and hands
//! the pool a type-erased [`Job`] whose call runs that task; dropping a job unstarted
//! cancels the task.
//!
//! # Contract
//!
//! - A job given to [`Spawner::spawn`] meets exactly one fate: it runs once on a pool
//!   thread; or it comes back in `Err` (the pool is shut down, or it has no thread and the
//!   OS refused one); or [`BlockingPool::shutdown`] drops it because no thread started it.
//! - Threads start on demand, up to `max_threads`. A thread idle for `keep_alive` exits.
//! - A job or hook that panics neither kills its thread nor skews the counts.
//! - No lock is held while a job, a hook or an unstarted job's `Drop` runs, so a job may
//!   spawn more jobs. `thread_name` and `spawn_thread` do run under the lock and must not
//!   call back into the pool.
//! - A job must return eventually. When the OS refuses a thread while others exist, the
//!   job waits for one of them to come back to the queue (see *Starting threads*). Do not
//!   run never-ending loops, such as scheduler workers, as jobs: that is how tokio issue
//!   #8406 orphans a job.
//!
//! # Protocol
//!
//! One mutex guards [`State`]. A worker thread is always in one of three places:
//!
//! - *busy*: running a job (the lock released) or looking at the queue (the lock held);
//! - *waiting*: parked on `Shared::work` or woken and heading back to the lock. A waiting
//!   thread is counted in `num_idle`, or it stands for one of the `num_notified`
//!   reservations. So `num_idle + num_notified` is the number of waiting threads;
//! - *exiting*: it has left the queue loop for good and been taken off `num_threads`.
//!
//! The counts change only under the lock:
//!
//! | field | who changes it, and when |
//! |---|---|
//! | `queue` | `spawn` pushes; a busy worker pops; `shutdown` empties it for good |
//! | `num_threads` | `spawn` adds one after the OS starts a thread; a worker takes itself off in the same lock hold in which it found the queue empty |
//! | `num_idle` | a worker adds itself before it waits; `spawn` moves one to `num_notified`; a worker that wakes to shutdown or keep-alive expiry takes itself off |
//! | `num_notified` | `spawn` adds one for each idle thread it reserves; a waking worker takes one and goes to the queue |
//! | `shutdown` | set once by `shutdown` |
//! | `workers`, `finished` | `spawn` inserts a handle; a finishing worker moves its own handle to `finished`; `shutdown` takes both |
//!
//! **No stranded job.** `spawn` relies on a waiting thread only by *reserving* it: it
//! moves one from `num_idle` to `num_notified`, queues the job and notifies, all under the
//! lock it queued with. Any waking thread that sees `num_notified > 0` takes one and goes
//! to the queue, whether it woke from the notification, from its timeout, or spuriously.
//! The threads are interchangeable: if a timing-out thread takes the reservation, the
//! thread that the notification woke finds none left and waits again, still counted idle.
//! Only a waking thread that finds no reservation leaves `num_idle`, and before it exits
//! it looks at the queue again. So a thread that `spawn` counted on cannot slip away, and
//! a thread that exits was one no queued job counted on. Every waiting thread is parked
//! or will recheck the state after the lock is released, so each notification is taken:
//! none is lost in the window between a timeout firing and the lock being reacquired.
//!
//! **Starting threads.** With nobody idle and fewer than `max_threads` threads, `spawn`
//! starts a thread under the lock; the thread cannot look at the queue before `spawn`
//! has queued the job. If the OS refuses and no thread exists, the job goes back to the
//! caller with the OS error. If threads exist, none of them is idle (else `spawn` would
//! have reserved it), so each is busy or reserved and will return to the queue: the job
//! waits for them and the OS error is dropped, as every later spawn tries again.
//!
//! **Shutdown** sets `shutdown`, empties the queue and wakes every waiting thread. The
//! threads exit as they come back to the queue; `shutdown` waits on `Shared::exited` until
//! `workers` holds no thread but its caller, or until the deadline, then joins the
//! finished threads and detaches the rest. A detached thread finishes its job, finds
//! `shutdown` set, and exits on its own.
//!
//! Invariants, checked in debug builds by [`State::check`]: `num_idle + num_notified <=
//! num_threads`; with no thread, or after shutdown, the queue is empty; and while a thread
//! is idle, no more jobs are queued than threads are reserved.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::loom::sync::{Condvar, Mutex, MutexGuard};
use crate::loom::thread::{self, JoinHandle, ThreadId};

mod task;
// Real threads and sleeps: not for loom (its model is `loom_tests/blocking.rs`).
#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) use task::BlockingTasks;

/// A unit of blocking work: runs once on a pool thread. Dropped unrun if the pool shuts
/// down before a thread takes it.
pub(crate) type Job = Box<dyn RunJob>;

/// What the pool can do with a job: run it, or hand it back with the reason it cannot.
pub(crate) trait RunJob: Send + 'static {
    /// Runs the job on a pool thread.
    fn run(self: Box<Self>);

    /// The job cannot run: no thread could be started for it. Dropping is the default.
    fn fail(self: Box<Self>, error: io::Error) {
        drop(error);
    }
}

impl<F: FnOnce() + Send + 'static> RunJob for F {
    fn run(self: Box<Self>) {
        (*self)();
    }
}

/// A callback run on a pool thread as it starts or stops.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

/// Starts an OS thread; [`spawn_os_thread`] unless a test injects a failure.
pub(crate) type SpawnThread =
    fn(thread::Builder, Box<dyn FnOnce() + Send>) -> io::Result<JoinHandle<()>>;

/// How a [`BlockingPool`] starts and keeps its threads.
#[derive(Clone)]
pub(crate) struct Config {
    /// Most threads alive at once; at least 1. Default 512.
    pub(crate) max_threads: usize,
    /// How long a thread waits for a job before it exits. Default 10 s.
    pub(crate) keep_alive: Duration,
    /// Called for each new thread's name; runs under the pool lock.
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    /// Stack size of each thread; `None` for std's default.
    pub(crate) stack_size: Option<usize>,
    /// Runs on each thread before its first job.
    pub(crate) after_start: Option<Hook>,
    /// Runs on each thread after its last job.
    pub(crate) before_stop: Option<Hook>,
    /// Starts a thread; runs under the pool lock. The seam for failure tests.
    pub(crate) spawn_thread: SpawnThread,
}

/// The blocking pool, owned by the runtime. Dropping it is `shutdown(None)`: it waits
/// for running jobs as long as they take, as tokio does; call
/// [`shutdown`](Self::shutdown) with a timeout first to bound that.
pub(crate) struct BlockingPool {
    spawner: Spawner,
}

/// Queues jobs on a [`BlockingPool`]; cheap to clone and share between threads.
#[derive(Clone)]
pub(crate) struct Spawner {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Waiting threads park here; `spawn` notifies one, `shutdown` all.
    work: Condvar,
    /// `shutdown` parks here; every finishing thread notifies it.
    exited: Condvar,
    config: Config,
}

/// Everything the module doc's protocol governs.
struct State {
    /// Jobs no thread has taken yet.
    queue: VecDeque<Job>,
    /// Threads that will come back to the queue: busy or waiting, not exiting.
    num_threads: usize,
    /// Waiting threads that no `spawn` has reserved.
    num_idle: usize,
    /// Reservations: waiting threads that a `spawn` counted on to take a job.
    num_notified: usize,
    /// No more jobs; threads exit once their job returns.
    shutdown: bool,
    /// Handles of threads that have not finished, keyed by the id each thread was given.
    workers: Slab<JoinHandle<()>>,
    /// Handles of finished threads, joined by the next thread to finish or by `shutdown`.
    finished: Vec<JoinHandle<()>>,
}

/// What `spawn` does with a job, decided under the lock.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
enum Placement {
    /// The pool is shut down: hand the job back.
    Rejected,
    /// An idle thread is reserved: queue the job and notify.
    WakeIdle,
    /// Nobody idle, room for a thread: start one, then queue.
    StartThread,
    /// Every thread busy at `max_threads`: queue; the first to come back takes it.
    Queue,
}

/// What a waiting thread does after waking, decided under the lock.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
enum Wakeup {
    /// Go to the queue.
    Work,
    /// Nothing for this thread: wait again until the same deadline.
    Wait,
    /// Leave the queue loop and exit.
    Exit,
}

type Panic = Box<dyn Any + Send>;

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: 512,
            keep_alive: Duration::from_secs(10),
            thread_name: Arc::new(|| String::from("runtime-blocking")),
            stack_size: None,
            after_start: None,
            before_stop: None,
            spawn_thread: spawn_os_thread,
        }
    }
}

/// The default [`SpawnThread`]: `std::thread::Builder::spawn`.
pub(crate) fn spawn_os_thread(
    builder: thread::Builder,
    main: Box<dyn FnOnce() + Send>,
) -> io::Result<JoinHandle<()>> {
    builder.spawn(main)
}

impl BlockingPool {
    /// A pool with no threads yet.
    ///
    /// # Panics
    ///
    /// If `config.max_threads` is 0.
    pub(crate) fn new(config: Config) -> BlockingPool {
        assert!(
            config.max_threads > 0,
            "blocking pool: max_threads must be at least 1"
        );
        let shared = Shared {
            state: Mutex::new(State::new()),
            work: Condvar::new(),
            exited: Condvar::new(),
            config,
        };
        let spawner = Spawner {
            shared: Arc::new(shared),
        };
        BlockingPool { spawner }
    }

    /// The handle that queues jobs on this pool.
    pub(crate) fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    /// Stops accepting jobs, drops the queued ones that no thread started (running their
    /// `Drop` on this thread), and waits up to `timeout` (`None`: forever) for the
    /// threads to exit. Threads still running a job at the deadline are detached. Called
    /// from a pool thread, it waits for every thread but that one.
    ///
    /// Idempotent: a later call neither waits for nor joins a thread an earlier call
    /// detached.
    ///
    /// Returns how many jobs were still running when it gave up waiting (their threads
    /// are among the detached ones); 0 if every thread exited in time.
    ///
    /// # Panics
    ///
    /// If a queued job's `Drop` panics, after the wait and the joins; the other jobs are
    /// still dropped.
    pub(crate) fn shutdown(&mut self, timeout: Option<Duration>) -> usize {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let shared = &self.spawner.shared;
        let panic = drop_jobs(shared.begin_shutdown());
        let (finished, detached, busy) = shared.wait_for_workers(deadline);
        join_all(finished);
        drop(detached);
        if let Some(payload) = panic {
            resume_unless_panicking(payload);
        }
        busy
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl Spawner {
    /// Queues `job` to run on a pool thread: an idle thread if one is waiting, else a
    /// new thread if fewer than `max_threads` exist, else the first busy thread to finish.
    ///
    /// # Errors
    ///
    /// Hands the job back with an error, never having run it:
    /// - `ErrorKind::Other`, "runtime is shutting down", once the pool is shut down;
    /// - the OS error from starting a thread, when the pool has no thread to run it. If
    ///   other threads exist, the job waits for them instead and this returns `Ok`.
    pub(crate) fn spawn(&self, job: Job) -> Result<(), (Job, io::Error)> {
        let shared = &self.shared;
        let mut state = shared.state.lock();
        match state.transition_to_placed(shared.config.max_threads) {
            Placement::Rejected => return Err((job, shutting_down())),
            Placement::WakeIdle => {
                state.queue.push_back(job);
                state.check();
                drop(state);
                shared.work.notify_one();
                return Ok(());
            }
            Placement::StartThread => {
                if let Err(error) = shared.start_thread(&mut state) {
                    if state.num_threads == 0 {
                        return Err((job, error));
                    }
                    // Dropped: the busy threads will take the job (see the module doc),
                    // and the next spawn asks the OS again.
                }
                state.queue.push_back(job);
            }
            Placement::Queue => state.queue.push_back(job),
        }
        state.check();
        Ok(())
    }

    /// Threads that will come back to the queue: busy or idle, not exiting. A thread that
    /// a timed-out shutdown detached counts until its job returns.
    pub(crate) fn num_threads(&self) -> usize {
        self.shared.state.lock().num_threads
    }

    /// Idle threads that no queued job has reserved (waiting for one).
    pub(crate) fn num_idle(&self) -> usize {
        self.shared.state.lock().num_idle
    }

    /// Jobs queued that no thread has taken yet.
    pub(crate) fn queue_depth(&self) -> usize {
        self.shared.state.lock().queue.len()
    }
}

impl Shared {
    /// Starts a worker thread and counts it. On error, nothing has changed.
    fn start_thread(self: &Arc<Self>, state: &mut State) -> io::Result<()> {
        let entry = state.workers.vacant_entry();
        let id = entry.key();
        let shared = Arc::clone(self);
        let main = Box::new(move || shared.run_worker(id));
        let handle = (self.config.spawn_thread)(self.thread_builder(), main)?;
        entry.insert(handle);
        state.num_threads += 1;
        Ok(())
    }

    fn thread_builder(&self) -> thread::Builder {
        let builder = thread::Builder::new().name((self.config.thread_name)());
        match self.config.stack_size {
            Some(size) => builder.stack_size(size),
            None => builder,
        }
    }

    /// A worker thread's whole life; `id` is its key in `workers`.
    fn run_worker(&self, id: usize) {
        run_hook(self.config.after_start.as_ref());
        self.serve();
        run_hook(self.config.before_stop.as_ref());
        self.finish(id);
    }

    /// Runs jobs until shutdown or until the thread idles past `keep_alive`.
    fn serve(&self) {
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.take_job() {
                MutexGuard::unlocked(&mut state, || run_job(job));
                continue;
            }
            if state.shutdown || !self.wait_for_work(&mut state) {
                break;
            }
        }
        // In the lock hold that found the queue empty: see *Starting threads*.
        state.transition_to_exited();
    }

    /// Waits as an idle thread. True when there may be a job for this thread, false when
    /// it should exit. The deadline is fixed on entry, so wakeups that bring nothing for
    /// this thread do not extend the keep-alive.
    fn wait_for_work(&self, state: &mut MutexGuard<'_, State>) -> bool {
        state.transition_to_idle();
        let deadline = Instant::now().checked_add(self.config.keep_alive);
        loop {
            let timed_out = match deadline {
                Some(deadline) => self.work.wait_until(state, deadline).timed_out(),
                None => {
                    self.work.wait(state);
                    false
                }
            };
            match state.transition_from_wait(timed_out) {
                Wakeup::Work => return true,
                Wakeup::Exit => return false,
                Wakeup::Wait => {}
            }
        }
    }

    /// The thread's last step: hands its handle to the next thread to finish, or to
    /// `shutdown`, and joins the threads that finished before it, so handles do not pile up.
    fn finish(&self, id: usize) {
        let earlier = {
            let mut state = self.state.lock();
            let earlier = if state.shutdown {
                Vec::new()
            } else {
                mem::take(&mut state.finished)
            };
            // None after a shutdown that detached this thread.
            if let Some(handle) = state.workers.try_remove(id) {
                state.finished.push(handle);
            }
            earlier
        };
        self.exited.notify_all();
        join_all(earlier);
    }

    /// Sets `shutdown`, wakes every waiting thread, and returns the jobs no thread took.
    fn begin_shutdown(&self) -> VecDeque<Job> {
        let queued = {
            let mut state = self.state.lock();
            state.shutdown = true;
            let queued = mem::take(&mut state.queue);
            state.check();
            queued
        };
        self.work.notify_all();
        queued
    }

    /// Waits until no thread but the caller is left, or until `deadline`. Returns the
    /// handles to join, the handles to detach, and how many of those threads are still
    /// running a job (the others are idle or exiting, and leave by themselves).
    fn wait_for_workers(
        &self,
        deadline: Option<Instant>,
    ) -> (Vec<JoinHandle<()>>, Slab<JoinHandle<()>>, usize) {
        let me = thread::current().id();
        let mut state = self.state.lock();
        while state.has_worker_other_than(me) {
            match deadline {
                Some(deadline) => {
                    if self.exited.wait_until(&mut state, deadline).timed_out() {
                        break;
                    }
                }
                None => self.exited.wait(&mut state),
            }
        }
        let busy = if state.workers.is_empty() {
            0
        } else {
            state.num_busy()
        };
        (
            mem::take(&mut state.finished),
            mem::take(&mut state.workers),
            busy,
        )
    }
}

impl State {
    fn new() -> State {
        State {
            queue: VecDeque::new(),
            num_threads: 0,
            num_idle: 0,
            num_notified: 0,
            shutdown: false,
            workers: Slab::new(),
            finished: Vec::new(),
        }
    }

    /// `spawn` decides where a job goes, reserving an idle thread if there is one.
    fn transition_to_placed(&mut self, max_threads: usize) -> Placement {
        if self.shutdown {
            return Placement::Rejected;
        }
        if self.num_idle > 0 {
            self.num_idle -= 1;
            self.num_notified += 1;
            return Placement::WakeIdle;
        }
        if self.num_threads < max_threads {
            Placement::StartThread
        } else {
            Placement::Queue
        }
    }

    /// A worker found the queue empty and is about to wait.
    fn transition_to_idle(&mut self) {
        self.num_idle += 1;
        self.check();
    }

    /// A waiting worker woke, for whatever reason, and holds the lock again.
    fn transition_from_wait(&mut self, timed_out: bool) -> Wakeup {
        if self.num_notified > 0 {
            // Not checked: the invariants hold again once this thread takes a job.
            self.num_notified -= 1;
            return Wakeup::Work;
        }
        let wakeup = if self.shutdown {
            self.num_idle -= 1;
            Wakeup::Exit
        } else if !timed_out {
            Wakeup::Wait
        } else {
            self.num_idle -= 1;
            // Unreachable while the invariants hold; cheap insurance against a stranded job.
            if self.queue.is_empty() {
                Wakeup::Exit
            } else {
                Wakeup::Work
            }
        };
        self.check();
        wakeup
    }

    /// A busy worker takes the next job, if any.
    fn take_job(&mut self) -> Option<Job> {
        let job = self.queue.pop_front();
        self.check();
        job
    }

    /// A worker leaves the queue loop for good; the caller saw the queue empty in this
    /// same lock hold.
    fn transition_to_exited(&mut self) {
        debug_assert!(self.queue.is_empty(), "a thread exits with jobs queued");
        self.num_threads -= 1;
        self.check();
    }

    /// Threads running a job: not yet exited, and neither waiting nor reserved.
    fn num_busy(&self) -> usize {
        self.num_threads - self.num_idle - self.num_notified
    }

    fn has_worker_other_than(&self, me: ThreadId) -> bool {
        self.workers
            .iter()
            .any(|(_, handle)| handle.thread().id() != me)
    }

    /// The protocol's invariants (module doc).
    fn check(&self) {
        debug_assert!(self.num_idle + self.num_notified <= self.num_threads);
        debug_assert!(self.num_threads > 0 || self.queue.is_empty());
        debug_assert!(!self.shutdown || self.queue.is_empty());
        debug_assert!(self.num_idle == 0 || self.queue.len() <= self.num_notified);
    }
}

fn shutting_down() -> io::Error {
    io::Error::other("runtime is shutting down")
}

/// Runs a job. A panic is the task layer's to record; the thread goes on serving.
fn run_job(job: Job) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || job.run())) {
        discard(payload);
    }
}

/// Runs a hook. A panic is already reported by the panic hook; the thread goes on.
fn run_hook(hook: Option<&Hook>) {
    if let Some(hook) = hook {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| hook())) {
            discard(payload);
        }
    }
}

/// Drops a panic payload whose own `Drop` may panic too, which must not kill the thread.
fn discard(payload: Panic) {
    if let Err(nested) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        mem::forget(nested);
    }
}

/// Drops jobs no thread started, which cancels their tasks. A panicking `Drop` does not
/// stop the others; the first panic is returned to be resumed once shutdown is done.
fn drop_jobs(jobs: VecDeque<Job>) -> Option<Panic> {
    let mut first = None;
    for job in jobs {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(job))) {
            match first {
                None => first = Some(payload),
                Some(_) => discard(payload),
            }
        }
    }
    first
}

fn join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        // Err only if the thread panicked, and every panic on a pool thread is caught.
        let _ = handle.join();
    }
}

/// A second panic while unwinding would abort, so during unwinding the payload is dropped.
fn resume_unless_panicking(payload: Panic) {
    if thread::panicking() {
        discard(payload);
    } else {
        panic::resume_unwind(payload);
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("max_threads", &self.max_threads)
            .field("keep_alive", &self.keep_alive)
            .field("stack_size", &self.stack_size)
            .field("after_start", &self.after_start.is_some())
            .field("before_stop", &self.before_stop.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("spawner", &self.spawner)
            .finish()
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
