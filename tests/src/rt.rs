//! Runtime test helpers: the flavors a case runs on, a hang guard, soak sizes, drop
//! counters, thread-safe channels (a oneshot and a mailbox), waker probes, pipes, and
//! process fd / thread / CPU accounting.
//!
//! Runtime cases are written once with [`rt_test!`](crate::rt_test) and run on every
//! flavor, like tokio's `rt_common.rs`:
//!
//! ```ignore
//! tests::rt_test! {
//!     // Proves ...
//!     async fn spawned_task_returns_its_value() {
//!         assert_eq!(runtime::spawn(async { 7 }).await.unwrap(), 7);
//!     }
//!
//!     // Proves ... (a case that builds its own runtime from the flavor)
//!     fn runtime_drop_cancels(flavor) {
//!         let rt = flavor.builder().max_blocking_threads(2).build().unwrap();
//!         // ...
//!     }
//! }
//! ```

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use runtime::{Builder, Runtime};

/// How long a test may run before the hang guard fails it. Only a bug gets near it: it
/// turns a lost wakeup or a deadlock into a failure instead of a stuck test binary.
pub const HANG_LIMIT: Duration = Duration::from_secs(30);

/// Generates one `#[test]` per runtime flavor for each case, in a module named after it
/// (`<case>::current_thread`). Each runs on its own thread under [`with_hang_guard`].
///
/// Two forms of case: `async fn name() { .. }` runs its body in `block_on` of a fresh
/// runtime of the flavor; `fn name(flavor) { .. }` gets the [`Flavor`] and builds its own
/// runtimes (to configure, drop or shut them down).
#[macro_export]
macro_rules! rt_test {
    () => {};
    ($(#[$attr:meta])* async fn $name:ident() $body:block $($rest:tt)*) => {
        $crate::rt_test! {
            $(#[$attr])*
            fn $name(flavor) { flavor.block_on(async move $body) }
            $($rest)*
        }
    };
    ($(#[$attr:meta])* fn $name:ident($flavor:ident) $body:block $($rest:tt)*) => {
        mod $name {
            #[allow(unused_imports, reason = "cases use what their file imports")]
            use super::*;

            $(#[$attr])*
            #[test]
            fn current_thread() {
                $crate::rt::Flavor::CurrentThread.run(|$flavor| $body);
            }

            $(#[$attr])*
            #[test]
            fn multi_thread() {
                $crate::rt::Flavor::MultiThread.run(|$flavor| $body);
            }
        }
        $crate::rt_test! { $($rest)* }
    };
}

/// A runtime flavor a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread()` with two workers.
    MultiThread,
}

impl Flavor {
    /// Every flavor, for a test that must run them in turn inside one `#[test]` (one that
    /// measures the whole process, or a child process told its flavor).
    pub const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    /// The flavor's name as `#[runtime::main(flavor = ..)]` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current_thread",
            Flavor::MultiThread => "multi_thread",
        }
    }

    /// The flavor [`name`](Flavor::name) gives `name`, e.g. one passed to a child process.
    ///
    /// # Panics
    ///
    /// If `name` names no flavor.
    pub fn from_name(name: &str) -> Flavor {
        Flavor::ALL
            .into_iter()
            .find(|flavor| flavor.name() == name)
            .unwrap_or_else(|| panic!("no runtime flavor is named {name:?}"))
    }

    /// A builder for this flavor with the runtime's defaults.
    pub fn builder(self) -> Builder {
        match self {
            Flavor::CurrentThread => Builder::new_current_thread(),
            Flavor::MultiThread => {
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        }
    }

    /// A builder for this flavor whose runtime starts with its clock paused (virtual time,
    /// auto-advancing when idle).
    pub fn paused_builder(self) -> Builder {
        let mut builder = self.builder();
        builder.start_paused(true);
        builder
    }

    /// Runs `future` in `block_on` of a fresh paused runtime of this flavor.
    pub fn block_on_paused<F: Future>(self, future: F) -> F::Output {
        let rt = self
            .paused_builder()
            .build()
            .unwrap_or_else(|e| panic!("building a paused {self:?} runtime: {e}"));
        rt.block_on(future)
    }

    /// A runtime of this flavor with the default settings.
    pub fn build(self) -> Runtime {
        self.builder()
            .build()
            .unwrap_or_else(|e| panic!("building a {self:?} runtime: {e}"))
    }

    /// Runs `future` in `block_on` of a fresh runtime of this flavor, then drops it.
    pub fn block_on<F: Future>(self, future: F) -> F::Output {
        self.build().block_on(future)
    }

    /// Runs a case with this flavor under the hang guard.
    pub fn run(self, case: impl FnOnce(Flavor) + Send + 'static) {
        with_hang_guard(move || case(self));
    }
}

/// Scales a soak test's size `n` by the `SOAK_SCALE` environment variable, so one setting
/// sizes every soak: `SOAK_SCALE=1` is the full size (the default in release builds),
/// `SOAK_SCALE=0.01` a hundredth; debug builds default to a tenth, to stay quick. The
/// result is at least 1. Only sizes scale: every assertion holds at every scale.
///
/// # Panics
///
/// If `SOAK_SCALE` is set to something other than a positive number.
pub fn soak(n: usize) -> usize {
    let scale = match std::env::var("SOAK_SCALE") {
        Ok(value) => value
            .parse::<f64>()
            .ok()
            .filter(|scale| *scale > 0.0 && scale.is_finite())
            .unwrap_or_else(|| {
                panic!("SOAK_SCALE={value:?}: use a positive number, 1 for full size")
            }),
        Err(_) if cfg!(debug_assertions) => 0.1,
        Err(_) => 1.0,
    };
    ((n as f64 * scale).round() as usize).max(1)
}

/// Runs `f` on a new thread (named like the caller) and waits at most [`HANG_LIMIT`] for
/// it. A panic in `f` is resumed here; a hang fails the test (the stuck thread is left
/// behind and dies with the test binary).
pub fn with_hang_guard(f: impl FnOnce() + Send + 'static) {
    with_hang_guard_for(HANG_LIMIT, f);
}

/// [`with_hang_guard`] with a limit of its own, for a soak whose full size runs longer
/// than [`HANG_LIMIT`].
pub fn with_hang_guard_for(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let name = thread::current().name().unwrap_or("test").to_owned();
    let (done, finished) = mpsc::channel::<()>();
    let worker = thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            f();
            let _ = done.send(());
        })
        .expect("spawning the test thread");
    match finished.recv_timeout(limit) {
        // Disconnected: `f` panicked and dropped the sender.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(payload) = worker.join() {
                std::panic::resume_unwind(payload);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name} hangs: it did not finish within {limit:?}")
        }
    }
}

/// Counts drops of the [`DropGuard`]s it hands out.
#[derive(Clone, Debug, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

/// Adds one to its [`DropCounter`] when dropped.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicUsize>);

impl DropCounter {
    /// A counter at zero.
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A guard to move into a future: its drop is the future's drop.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    /// How many guards have been dropped.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-value channel whose sender works from any thread, built on `std::sync::Mutex`
/// and `Waker` alone, so it exercises the runtime's remote wakeups and nothing else.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        closed: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The sender is gone.
    closed: bool,
}

/// Sends the value of a [`oneshot`].
pub struct Sender<T> {
    shared: Arc<Mutex<Slot<T>>>,
}

/// Resolves to the value of a [`oneshot`], or `None` if the sender was dropped unsent.
pub struct Receiver<T> {
    shared: Arc<Mutex<Slot<T>>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Stores `value` and wakes the receiver (outside the lock).
    pub fn send(self, value: T) {
        self.shared.lock().unwrap().value = Some(value);
        // Drop wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.shared.lock().unwrap();
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.shared.lock().unwrap();
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Some(value));
        }
        if slot.closed {
            return Poll::Ready(None);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// An unbounded many-to-one channel whose senders work from any thread, built like
/// [`oneshot`] on `std::sync::Mutex` and `Waker` alone. [`Mailbox::recv`] resolves to
/// `None` once the queue is empty and every sender is gone; a value sent after the
/// mailbox was dropped is dropped.
pub fn mailbox<T>() -> (MailboxSender<T>, Mailbox<T>) {
    let shared = Arc::new(Mutex::new(MailboxState {
        queue: VecDeque::new(),
        waker: None,
        senders: 1,
        receiver_gone: false,
    }));
    (
        MailboxSender {
            shared: shared.clone(),
        },
        Mailbox { shared },
    )
}

struct MailboxState<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    senders: usize,
    receiver_gone: bool,
}

/// Sends into a [`mailbox`]; clone it for more senders.
pub struct MailboxSender<T> {
    shared: Arc<Mutex<MailboxState<T>>>,
}

/// Receives what the [`mailbox`]'s senders send, in order.
pub struct Mailbox<T> {
    shared: Arc<Mutex<MailboxState<T>>>,
}

impl<T> std::fmt::Debug for MailboxSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxSender").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Mailbox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").finish_non_exhaustive()
    }
}

impl<T> MailboxSender<T> {
    /// Queues `value` and wakes the receiver (outside the lock); drops `value` if the
    /// receiver is gone.
    pub fn send(&self, value: T) {
        let waker = {
            let mut state = self.shared.lock().unwrap();
            if state.receiver_gone {
                drop(state);
                drop(value);
                return;
            }
            state.queue.push_back(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Clone for MailboxSender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().unwrap().senders += 1;
        MailboxSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for MailboxSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock().unwrap();
            state.senders -= 1;
            if state.senders > 0 {
                return;
            }
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Mailbox<T> {
    /// The next value, or `None` once every sender is gone and nothing is queued.
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.lock().unwrap();
            if let Some(value) = state.queue.pop_front() {
                return Poll::Ready(Some(value));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        let queued = {
            let mut state = self.shared.lock().unwrap();
            state.receiver_gone = true;
            std::mem::take(&mut state.queue)
        };
        drop(queued); // outside the lock: a value's destructor may send again
    }
}

/// A shared slot for a task's waker, to use it from outside the task.
#[derive(Clone, Debug, Default)]
pub struct WakerSlot(Arc<Mutex<Option<Waker>>>);

impl WakerSlot {
    /// An empty slot.
    pub fn new() -> WakerSlot {
        WakerSlot::default()
    }

    /// A future that stores a clone of its waker here on every poll and never completes.
    pub fn pending_forever(&self) -> impl Future<Output = ()> + Send + 'static {
        let slot = self.0.clone();
        std::future::poll_fn(move |cx| {
            *slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Stores a clone of `waker`.
    pub fn store(&self, waker: &Waker) {
        *self.0.lock().unwrap() = Some(waker.clone());
    }

    /// Takes the stored waker, if any.
    pub fn take(&self) -> Option<Waker> {
        self.0.lock().unwrap().take()
    }

    /// Whether a waker has been stored (and not taken).
    pub fn is_filled(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }
}

/// A waker that unparks the current thread: with `thread::park`, a minimal executor for
/// polling runtime futures from a foreign thread.
pub fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}

struct ThreadWaker(thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Wraps `future` so `probe` counts one when the future first returns `Pending`: from then
/// on it is registered wherever it waits (a waiter list, a timer), not merely spawned.
pub fn count_when_pending<F: Future>(
    future: F,
    probe: Arc<AtomicUsize>,
) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    let mut counted = false;
    std::future::poll_fn(move |cx| {
        let poll = future.as_mut().poll(cx);
        if poll.is_pending() && !counted {
            counted = true;
            probe.fetch_add(1, Ordering::SeqCst);
        }
        poll
    })
}

/// Polls `future` once with a waker that does nothing.
pub fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// How long [`yield_until`] keeps yielding before it fails.
pub const YIELD_UNTIL_LIMIT: Duration = Duration::from_secs(20);

/// Yields until `done` holds; fails after [`YIELD_UNTIL_LIMIT`] instead of spinning
/// forever. Bounded by time, not by a count of yields: on the multi-thread flavor the
/// condition is often another worker's progress, and a `block_on` that yields runs its
/// yields as fast as it can, so a count (it was 100,000) ran out in tens of milliseconds
/// on a loaded machine while the workers were descheduled.
pub async fn yield_until(mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + YIELD_UNTIL_LIMIT;
    while !done() {
        assert!(
            Instant::now() < give_up,
            "condition still false after yielding for {YIELD_UNTIL_LIMIT:?}"
        );
        runtime::task::yield_now().await;
    }
}

/// The message of a panic payload (`panic!` with a literal or with format arguments).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

/// Runs `f`, expects it to panic, and returns the panic message.
#[track_caller]
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => panic_message(&*payload),
    }
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` is valid for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe succeeded, so both are fresh descriptors that nothing else owns.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&ends.0, &ends.1] {
        set_flag(fd, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)?;
        set_flag(fd, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    }
    Ok(ends)
}

/// ORs `flag` into the flags read with `get` and written with `set` (portable: no pipe2).
fn set_flag(fd: &OwnedFd, get: libc::c_int, set: libc::c_int, flag: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is open for the duration of both calls; fcntl takes no pointers here.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), get) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd.as_raw_fd(), set, flags | flag) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Open descriptors of this process (Linux: `/proc/self/fd`, without the one the listing
/// itself holds).
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .count()
        - 1
}

/// Threads of this process (Linux: `/proc/self/task`).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("listing /proc/self/task")
        .count()
}

/// Waits (up to 5 s) for `(fd_count(), thread_count())` to come back to `baseline` and
/// returns them: a joined thread can stay listed in /proc/self/task for a moment after
/// `join` returns.
pub fn settled_counts(baseline: (usize, usize)) -> (usize, usize) {
    let give_up = Instant::now() + Duration::from_secs(5);
    loop {
        let counts = (fd_count(), thread_count());
        if counts == baseline || Instant::now() > give_up {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `warm_up` (a cycle that makes whatever lazy process-wide state exists) and returns
/// the `(fd_count(), thread_count())` baseline to compare later cycles against: the counts
/// from before the warm-up, once its threads are gone from /proc. Counting right after
/// the warm-up once took its last, already joined thread as part of the baseline. What
/// the warm-up legitimately keeps shows up as the settle giving up, and then counts.
pub fn baseline_counts_after(warm_up: impl FnOnce()) -> (usize, usize) {
    let before = (fd_count(), thread_count());
    warm_up();
    settled_counts(before)
}

/// CPU time (user + system) this process has used so far.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the kernel to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", io::Error::last_os_error());
    let secs = u64::try_from(ts.tv_sec).expect("CPU time is not negative");
    let nanos = u32::try_from(ts.tv_nsec).expect("tv_nsec is below one second");
    Duration::new(secs, nanos)
}

/// A deterministic pseudo-random sequence (64-bit LCG), for spreading durations.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    /// A sequence from `seed`.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// The next value below `bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    // Proves that `yield_until` waits for a condition that holds only after 300 ms of
    // another thread's work, from a multi-thread `block_on` (which yields as fast as it
    // can: the 100,000-yield bound it had ran out first and failed such a wait).
    #[test]
    fn yield_until_waits_by_the_clock_not_by_a_count() {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = flag.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                flag.store(true, Ordering::SeqCst);
            })
        };
        Flavor::MultiThread.block_on(yield_until(|| flag.load(Ordering::SeqCst)));
        setter.join().unwrap();
    }
}
