//! Hostile panics (issue 10, section 4): user code that panics where the runtime calls it,
//! on both flavors, in child processes of this binary, so that a panic that aborts the
//! process, kills a worker or hangs the runtime is reported instead of taking the test
//! binary down with it.
//!
//! The matrix: {panic in `poll`, in the future's `Drop`, in the output's `Drop`} x {handle
//! awaited, dropped before completion, dropped after completion, aborted before the first
//! poll, aborted after it}. What each cell must give (the runtime's documented contract,
//! `task/raw.rs` and `task/harness.rs`):
//!
//! - Panic in `poll`: an awaited handle gets `is_panic()` with the payload; a dropped
//!   handle's task drops the `JoinError` itself; an abort before the panicking poll wins:
//!   `is_cancelled()`, and the future is not polled again.
//! - Panic in the future's `Drop`: the runtime catches and discards it (the panic hook
//!   prints it, on the thread that dropped the future); the task's outcome is what it
//!   would have been: the output after `Ready`, `is_cancelled()` after an abort.
//! - Panic in the output's `Drop`: an awaiter gets the output, and the panic happens in
//!   the awaiter's own code when it drops it; when nobody will read the output, whoever
//!   drops it (the worker that completed the task, or `JoinHandle::drop` on the caller's
//!   thread) catches and discards the panic: the worker goes on, the caller's drop returns.
//!
//! In every cell the future is dropped exactly once, an output made is dropped exactly
//! once, each user panic is raised exactly once (counted by a panic hook), and a canary
//! task ticking every millisecond keeps advancing.
//!
//! A foreign executor with a waker whose `wake` panics polls our `JoinHandle`, `Sleep`
//! and a `TcpStream` readiness future; then the runtime wakes it (task completion, timer,
//! readiness event). The runtime catches the panic where it wakes (the panic hook prints
//! it) and goes on: the canary advances, other wakers due at the same moment are still
//! woken, and the foreign future completes when polled again.
//!
//! Beside them, each with its own proof: an inline executor's waker that re-enters the
//! runtime inside `wake`; a signal listener's panicking waker; a `block_on` future that
//! panics in its `Drop`; an abort racing a panicking poll; panicking thread hooks and a
//! panicking `thread_name_fn`; a panic payload that panics in its own `Drop`.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use runtime::Runtime;
use runtime::task::JoinHandle;
use runtime::time::{sleep, sleep_until};
use tests::net::{SelfChild, child_mode, within};
use tests::rt::{DropCounter, Flavor, expect_panic, panic_message, poll_once, with_hang_guard};

const MODE: &str = "HOSTILE_PANICS_CHILD";
const CHILD: &str = "child_body";
const DONE: &str = "HOSTILE-PANICS-DONE";
/// Bound on any one wait inside the child: only a bug gets near it.
const LIMIT: Duration = Duration::from_secs(5);

/// Runs the child body in `part` on `flavor` and checks it finished cleanly.
fn run_child(part: &str, flavor: Flavor) {
    let mode = format!("{part}:{}", flavor.name());
    SelfChild::spawn(CHILD, MODE, &mode).finish_with_line(DONE, Duration::from_secs(60));
}

// Proves the matrix above, on each flavor, in one child process per flavor: every cell's
// JoinError (or output), exact drop counts and panic counts, and a canary that advances
// after every cell; then the runtime drops cleanly and drops the canary once.
mod panic_matrix_in_a_child {
    use super::*;

    #[test]
    fn current_thread() {
        run_child("matrix", Flavor::CurrentThread);
    }

    #[test]
    fn multi_thread() {
        run_child("matrix", Flavor::MultiThread);
    }
}

// Proves that a foreign executor's waker that panics when the runtime wakes it (from a
// task completion, a timer, a readiness event) does not take the runtime down: the panic
// is caught where the runtime wakes, the canary keeps advancing, a task due at the same
// moment still runs, and the foreign futures complete when polled again.
mod panicking_foreign_waker_in_a_child {
    use super::*;

    #[test]
    fn current_thread() {
        run_child("foreign", Flavor::CurrentThread);
    }

    #[test]
    fn multi_thread() {
        run_child("foreign", Flavor::MultiThread);
    }
}

/// The child process body, run only by the tests above (`--ignored --exact` with the mode
/// set): `matrix:<flavor>` or `foreign:<flavor>`.
#[test]
#[ignore = "child-process body: run by the tests above"]
fn child_body() {
    let Some(mode) = child_mode(MODE) else {
        return;
    };
    let (part, flavor) = mode.split_once(':').expect("mode is part:flavor");
    let flavor = Flavor::from_name(flavor);
    install_counting_hook();
    match part {
        "matrix" => with_hang_guard(move || run_matrix(flavor)),
        "foreign" => with_hang_guard(move || run_foreign(flavor)),
        other => panic!("no child part {other:?}"),
    }
    println!("\n{DONE} {mode}");
}

// ---- panic bookkeeping ------------------------------------------------------------------

/// The message of every panic raised in this process, recorded by the hook.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records each panic's message, then prints it as the default hook does.
fn install_counting_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(panic_message(info.payload()));
        default(info);
    }));
}

/// How many recorded panics mention `label`.
fn panics_mentioning(label: &str) -> usize {
    let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    panics.iter().filter(|m| m.contains(label)).count()
}

// ---- the canary ---------------------------------------------------------------------------

/// A task that ticks a counter every millisecond for as long as its runtime lives.
struct Canary {
    ticks: Arc<AtomicU64>,
    drops: DropCounter,
}

impl Canary {
    fn start(rt: &Runtime) -> Canary {
        let ticks = Arc::new(AtomicU64::new(0));
        let drops = DropCounter::new();
        let (counter, guard) = (ticks.clone(), drops.guard());
        drop(rt.spawn(async move {
            let _guard = guard;
            loop {
                sleep(Duration::from_millis(1)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }));
        Canary { ticks, drops }
    }

    /// Waits (bounded) for three more ticks.
    async fn advances(&self, after: &str) {
        let from = self.ticks.load(Ordering::SeqCst);
        let ticks = &self.ticks;
        within(LIMIT, &format!("the canary after {after}"), async {
            while ticks.load(Ordering::SeqCst) < from + 3 {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
    }
}

/// Waits (bounded, in the runtime) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    within(LIMIT, what, async {
        while !done() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

// ---- the matrix -----------------------------------------------------------------------------

/// Where the cell's future panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Site {
    Poll,
    FutureDrop,
    OutputDrop,
}

/// What the spawner does with the `JoinHandle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Awaited,
    DroppedBeforeCompletion,
    DroppedAfterCompletion,
    AbortedBeforeFirstPoll,
    AbortedAfterFirstPoll,
}

impl Use {
    const ALL: [Use; 5] = [
        Use::Awaited,
        Use::DroppedBeforeCompletion,
        Use::DroppedAfterCompletion,
        Use::AbortedBeforeFirstPoll,
        Use::AbortedAfterFirstPoll,
    ];

    fn aborted(self) -> bool {
        matches!(
            self,
            Use::AbortedBeforeFirstPoll | Use::AbortedAfterFirstPoll
        )
    }
}

/// One cell's counters, checked again after the runtime is gone.
#[derive(Default)]
struct Counts {
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    outputs_made: AtomicUsize,
    output_drops: AtomicUsize,
    /// The gate: the first poll waits for it.
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Counts {
    fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    /// Lets the future complete (or panic) on its next poll.
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// A cell's label, unique in the panic messages.
#[derive(Clone)]
struct Label(String);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Pending until its gate opens; then panics or completes as its site says.
struct Hostile {
    site: Site,
    label: Label,
    counts: Arc<Counts>,
}

/// The output of a `Hostile` future.
struct Output {
    panics: bool,
    label: Label,
    counts: Arc<Counts>,
}

impl Future for Hostile {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        self.counts.polls.fetch_add(1, Ordering::SeqCst);
        if !self.counts.open.load(Ordering::SeqCst) {
            *self.counts.waker.lock().unwrap() = Some(cx.waker().clone());
            if !self.counts.open.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
        if self.site == Site::Poll {
            panic!("{}: panic in poll", self.label);
        }
        self.counts.outputs_made.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Output {
            panics: self.site == Site::OutputDrop,
            label: self.label.clone(),
            counts: self.counts.clone(),
        })
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.counts.future_drops.fetch_add(1, Ordering::SeqCst);
        if self.site == Site::FutureDrop {
            panic!("{}: panic in the future's Drop", self.label);
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.counts.output_drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("{}: panic in the output's Drop", self.label);
        }
    }
}

/// What a cell must end with.
struct Expected {
    polls: usize,
    outputs: usize,
    panics: usize,
}

fn expected(site: Site, how: Use) -> Expected {
    let polls = match how {
        Use::AbortedBeforeFirstPoll => 0,
        Use::AbortedAfterFirstPoll => 1,
        _ => 2,
    };
    let outputs = usize::from(site != Site::Poll && !how.aborted());
    // The future's Drop always runs; poll panics and output drops only where they happen.
    let panics = match site {
        Site::FutureDrop => 1,
        Site::Poll | Site::OutputDrop => usize::from(!how.aborted()),
    };
    Expected {
        polls,
        outputs,
        panics,
    }
}

fn run_matrix(flavor: Flavor) {
    let rt = flavor.build();
    let canary = Canary::start(&rt);
    let mut cells = Vec::new();
    for site in [Site::Poll, Site::FutureDrop, Site::OutputDrop] {
        for how in Use::ALL {
            let label = Label(format!("cell {site:?} x {how:?} on {}", flavor.name()));
            let counts = Arc::new(Counts::default());
            rt.block_on(async {
                run_cell(site, how, &label, &counts).await;
                check_cell(site, how, &label, &counts).await;
                canary.advances(&label.0).await;
            });
            cells.push((site, how, label, counts));
        }
    }
    drop(rt);
    assert_eq!(
        canary.drops.count(),
        1,
        "the canary is dropped once with the runtime"
    );
    // Nothing was dropped (or raised) a second time meanwhile.
    for (site, how, label, counts) in &cells {
        let want = expected(*site, *how);
        assert_eq!(
            Counts::get(&counts.future_drops),
            1,
            "{label}: future drops"
        );
        assert_eq!(
            Counts::get(&counts.output_drops),
            want.outputs,
            "{label}: output drops"
        );
        assert_eq!(
            panics_mentioning(&label.0),
            want.panics,
            "{label}: panics raised"
        );
    }
}

/// Spawns the cell's future and uses its handle as `how` says; checks the JoinError or
/// output where there is one to see.
async fn run_cell(site: Site, how: Use, label: &Label, counts: &Arc<Counts>) {
    let future = Hostile {
        site,
        label: label.clone(),
        counts: counts.clone(),
    };
    if how == Use::AbortedBeforeFirstPoll {
        // Spawned and aborted inside one poll of a task: the new task waits in that
        // worker's LIFO slot (which nobody steals) or the current-thread queue until the
        // poll ends, so the abort comes first on both flavors.
        #[expect(
            clippy::async_yields_async,
            reason = "the inner handle is the result, awaited outside the task"
        )]
        let handle = runtime::spawn(async move {
            let handle = runtime::spawn(future);
            handle.abort();
            handle
        });
        let handle = within(LIMIT, "the spawning task", handle).await.unwrap();
        return expect_cancelled(label, handle).await;
    }
    let handle = runtime::spawn(future);
    let first_poll = || Counts::get(&counts.polls) == 1;
    until(&format!("{label}: first poll"), first_poll).await;
    match how {
        Use::Awaited => {
            counts.open();
            let joined = within(LIMIT, &label.0, handle).await;
            match (site, joined) {
                (Site::Poll, Err(err)) => {
                    assert!(err.is_panic(), "{label}: {err}");
                    let message = panic_message(&*err.into_panic());
                    assert_eq!(message, format!("{label}: panic in poll"));
                }
                (Site::FutureDrop, Ok(output)) => drop(output),
                (Site::OutputDrop, Ok(output)) => {
                    // The awaiter owns the output: its Drop panics here, in our code.
                    let message = expect_panic(move || drop(output));
                    assert_eq!(message, format!("{label}: panic in the output's Drop"));
                }
                (_, Err(err)) => panic!("{label}: {err}"),
                (_, Ok(_)) => panic!("{label}: a panicking poll returned an output"),
            }
        }
        Use::DroppedBeforeCompletion => {
            drop(handle);
            counts.open();
            // The worker that completes the task drops the JoinError or the output.
            let want = expected(site, how);
            until(&format!("{label}: the runner's drops"), || {
                Counts::get(&counts.future_drops) == 1
                    && Counts::get(&counts.output_drops) == want.outputs
                    && panics_mentioning(&label.0) == want.panics
            })
            .await;
        }
        Use::DroppedAfterCompletion => {
            counts.open();
            until(&format!("{label}: completion"), || handle.is_finished()).await;
            // Drops the JoinError or the output here; a panicking output Drop is caught.
            drop(handle);
        }
        Use::AbortedAfterFirstPoll => {
            handle.abort();
            expect_cancelled(label, handle).await;
        }
        Use::AbortedBeforeFirstPoll => unreachable!("handled above"),
    }
}

async fn expect_cancelled(label: &Label, handle: JoinHandle<Output>) {
    match within(LIMIT, &label.0, handle).await {
        Err(err) => assert!(err.is_cancelled(), "{label}: {err}"),
        Ok(_) => panic!("{label}: an aborted task returned its output"),
    }
}

/// The cell's counts are exact once everything it started has settled.
async fn check_cell(site: Site, how: Use, label: &Label, counts: &Counts) {
    let want = expected(site, how);
    until(&format!("{label}: panics raised"), || {
        panics_mentioning(&label.0) >= want.panics
    })
    .await;
    assert_eq!(Counts::get(&counts.polls), want.polls, "{label}: polls");
    assert_eq!(
        Counts::get(&counts.future_drops),
        1,
        "{label}: future drops"
    );
    assert_eq!(
        Counts::get(&counts.outputs_made),
        want.outputs,
        "{label}: outputs made"
    );
    assert_eq!(
        Counts::get(&counts.output_drops),
        want.outputs,
        "{label}: output drops"
    );
    assert_eq!(
        panics_mentioning(&label.0),
        want.panics,
        "{label}: panics raised"
    );
}

// ---- the foreign executor -------------------------------------------------------------------

/// A foreign executor's waker whose `wake` counts, then panics.
struct PanickingWaker {
    what: &'static str,
    wakes: AtomicUsize,
}

impl PanickingWaker {
    fn new(what: &'static str) -> (Arc<PanickingWaker>, Waker) {
        let probe = Arc::new(PanickingWaker {
            what,
            wakes: AtomicUsize::new(0),
        });
        (probe.clone(), Waker::from(probe))
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        panic!("foreign waker of the {} panics in wake", self.what);
    }
}

/// Polls `future` once on this (foreign) thread with `waker`.
fn poll_foreign<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

fn run_foreign(flavor: Flavor) {
    let rt = flavor.build();
    let canary = Canary::start(&rt);
    foreign_join_handle(&rt, &canary);
    foreign_sleep(&rt, &canary);
    foreign_readiness(&rt, &canary);
    foreign_inline_executor(&rt, &canary);
    foreign_signal(&rt, &canary);
    drop(rt);
    assert_eq!(
        canary.drops.count(),
        1,
        "the canary is dropped once with the runtime"
    );
}

/// The task completes and wakes the join waker: caught in the harness.
fn foreign_join_handle(rt: &Runtime, canary: &Canary) {
    let (probe, waker) = PanickingWaker::new("JoinHandle");
    let counts = Arc::new(Counts::default());
    let gate = counts.clone();
    let mut handle = rt.spawn(std::future::poll_fn(move |cx| {
        if gate.open.load(Ordering::SeqCst) {
            return Poll::Ready(7);
        }
        *gate.waker.lock().unwrap() = Some(cx.waker().clone());
        if gate.open.load(Ordering::SeqCst) {
            Poll::Ready(7)
        } else {
            Poll::Pending
        }
    }));
    assert!(poll_foreign(&mut handle, &waker).is_pending());
    drop(waker);
    counts.open();
    rt.block_on(async {
        until("the join waker's wake", || probe.wakes() == 1).await;
        canary.advances("the join waker panicked").await;
    });
    assert_eq!(poll_once(&mut handle).map(Result::unwrap), Poll::Ready(7));
    assert_eq!(panics_mentioning("of the JoinHandle panics"), 1);
}

/// The timer fires and wakes the sleep's waker: a task's timer due at the same instant,
/// registered after it (so woken after it), must still fire.
fn foreign_sleep(rt: &Runtime, canary: &Canary) {
    let (probe, waker) = PanickingWaker::new("Sleep");
    let deadline = std::time::Instant::now() + Duration::from_millis(20);
    let mut foreign = {
        let _enter = rt.enter();
        Box::pin(sleep_until(deadline))
    };
    assert!(poll_foreign(&mut foreign, &waker).is_pending());
    drop(waker);
    let same_instant = rt.spawn(async move { sleep_until(deadline).await });
    rt.block_on(async {
        within(
            LIMIT,
            "a task's sleep due with the foreign one",
            same_instant,
        )
        .await
        .unwrap();
        until("the sleep waker's wake", || probe.wakes() == 1).await;
        canary.advances("the sleep waker panicked").await;
    });
    assert_eq!(poll_once(&mut foreign), Poll::Ready(()));
    assert_eq!(panics_mentioning("of the Sleep panics"), 1);
}

/// A readiness event wakes the foreign reader: a task reading another socket that
/// becomes readable in the same event batch must still be woken.
fn foreign_readiness(rt: &Runtime, canary: &Canary) {
    let (probe, waker) = PanickingWaker::new("TcpStream readiness");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        pairs.push((client, server));
    }
    let (foreign_side, mut foreign_peer) = pairs.remove(0);
    let (task_side, mut task_peer) = pairs.remove(0);
    let (foreign_stream, task_stream) = {
        let _enter = rt.enter();
        (
            net::TcpStream::from_std(foreign_side).unwrap(),
            net::TcpStream::from_std(task_side).unwrap(),
        )
    };
    let mut readable = Box::pin(foreign_stream.readable());
    assert!(poll_foreign(&mut readable, &waker).is_pending());
    drop(waker);
    let reader = rt.spawn(async move { task_stream.readable().await });
    rt.block_on(async {
        // The task has registered (its first poll is Pending) before both writes.
        sleep(Duration::from_millis(10)).await;
        foreign_peer.write_all(b"x").unwrap();
        task_peer.write_all(b"y").unwrap();
        within(LIMIT, "a task's readiness in the same batch", reader)
            .await
            .unwrap()
            .unwrap();
        until("the readiness waker's wake", || probe.wakes() >= 1).await;
        canary.advances("the readiness waker panicked").await;
    });
    assert!(matches!(poll_once(&mut readable), Poll::Ready(Ok(()))));
    assert_eq!(probe.wakes(), 1);
    assert_eq!(panics_mentioning("of the TcpStream readiness panics"), 1);
}

/// An inline executor's waker: `wake` runs the foreign work on the waking thread, inside
/// the runtime's own wake: it polls the JoinHandle (taking the output and dropping the
/// handle), polls a Sleep (registering it again), spawns a task, then panics.
struct InlineWaker {
    handle: runtime::Handle,
    join: Mutex<Option<JoinHandle<u8>>>,
    output: Mutex<Option<u8>>,
    sleep: Mutex<Option<Pin<Box<runtime::time::Sleep>>>>,
    spawned: Mutex<Vec<JoinHandle<u8>>>,
    wakes: AtomicUsize,
}

impl Wake for InlineWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        if let Some(mut join) = self.join.lock().unwrap().take() {
            if let Poll::Ready(result) = poll_once(&mut join) {
                *self.output.lock().unwrap() = Some(result.unwrap());
            }
            drop(join);
        }
        if let Some(asleep) = self.sleep.lock().unwrap().as_mut() {
            let waker = Waker::from(self.clone());
            let _ = asleep.as_mut().poll(&mut Context::from_waker(&waker));
        }
        self.spawned
            .lock()
            .unwrap()
            .push(self.handle.spawn(async { 9 }));
        panic!("an inline executor's waker panics after its work");
    }
}

/// The runtime wakes an inline executor from its harness (task completion) and its
/// timer driver (a sleep): the waker's re-entrant work happens and its panic is caught.
fn foreign_inline_executor(rt: &Runtime, canary: &Canary) {
    let inline = Arc::new(InlineWaker {
        handle: rt.handle().clone(),
        join: Mutex::new(None),
        output: Mutex::new(None),
        sleep: Mutex::new(None),
        spawned: Mutex::new(Vec::new()),
        wakes: AtomicUsize::new(0),
    });
    let waker = Waker::from(inline.clone());
    let counts = Arc::new(Counts::default());
    let gate = counts.clone();
    let mut join = rt.spawn(std::future::poll_fn(move |cx| {
        *gate.waker.lock().unwrap() = Some(cx.waker().clone());
        if gate.open.load(Ordering::SeqCst) {
            Poll::Ready(8)
        } else {
            Poll::Pending
        }
    }));
    assert!(poll_foreign(&mut join, &waker).is_pending());
    *inline.join.lock().unwrap() = Some(join);
    let mut asleep = {
        let _enter = rt.enter();
        Box::pin(sleep(Duration::from_millis(20)))
    };
    assert!(poll_foreign(&mut asleep, &waker).is_pending());
    *inline.sleep.lock().unwrap() = Some(asleep);
    drop(waker);
    counts.open();
    rt.block_on(async {
        until("the inline waker's wakes", || {
            inline.wakes.load(Ordering::SeqCst) >= 2 && inline.spawned.lock().unwrap().len() >= 2
        })
        .await;
        canary.advances("the inline waker panicked").await;
        let spawned = std::mem::take(&mut *inline.spawned.lock().unwrap());
        for handle in spawned {
            assert_eq!(
                within(LIMIT, "a task spawned in wake", handle)
                    .await
                    .unwrap(),
                9
            );
        }
    });
    assert_eq!(
        *inline.output.lock().unwrap(),
        Some(8),
        "the output taken inline"
    );
    let asleep = inline.sleep.lock().unwrap().take().expect("the sleep");
    assert!(asleep.is_elapsed());
    // The waker is referenced from the sleep it polls: break the cycle.
    drop(asleep);
    assert!(panics_mentioning("inline executor's waker panics") >= 2);
}

/// A signal delivery is dispatched by whichever `Signal` is polled next: here a task's.
/// The foreign listener's panicking waker must neither fail that task nor keep the
/// delivery from it. (SIGUSR1: this child process is alone with it.)
fn foreign_signal(rt: &Runtime, canary: &Canary) {
    use runtime::signal::unix::{SignalKind, signal};
    let (probe, waker) = PanickingWaker::new("Signal");
    let (mut foreign, mut ours) = {
        let _enter = rt.enter();
        (
            signal(SignalKind::user_defined1()).unwrap(),
            signal(SignalKind::user_defined1()).unwrap(),
        )
    };
    assert!(
        foreign
            .poll_recv(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    let receiver = rt.spawn(async move { ours.recv().await });
    rt.block_on(async {
        sleep(Duration::from_millis(10)).await; // the task waits in recv
        // SAFETY: raise takes no pointers; SIGUSR1 has the runtime's handler installed.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        let received = within(LIMIT, "the task's signal", receiver).await;
        assert_eq!(
            received.expect("the receiving task must not fail"),
            Some(())
        );
        // Woken twice: by the dispatch (its listener) and by the reactor (its pipe's dup).
        until("the signal waker's wakes", || probe.wakes() == 2).await;
        canary.advances("the signal waker panicked").await;
    });
    let noop = Waker::noop();
    assert_eq!(
        foreign.poll_recv(&mut Context::from_waker(noop)),
        Poll::Ready(Some(()))
    );
    assert_eq!(panics_mentioning("of the Signal panics"), 2);
}

// ---- block_on's own future ----------------------------------------------------------------

/// Ready at once (or pending on the first poll, if `pend_once`); panics when dropped.
struct ReadyThenPanicOnDrop {
    pend_once: bool,
}

impl Future for ReadyThenPanicOnDrop {
    type Output = u8;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if std::mem::take(&mut self.pend_once) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(5)
    }
}

impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("block_on's future panics in its Drop (expected by this test)");
    }
}

tests::rt_test! {
    // Proves that a block_on future whose Drop panics after it returned its output (on
    // its first poll, or after a pending one) leaves the runtime whole: the panic reaches
    // block_on's caller, and afterwards a task spawned before still completes, a new
    // block_on runs, timers fire, and the drop finishes.
    fn panic_in_the_drop_of_block_on_future_leaves_the_runtime_usable(flavor) {
        let rt = flavor.build();
        let (tx, rx) = std::sync::mpsc::channel();
        drop(rt.spawn(async move {
            sleep(Duration::from_millis(5)).await;
            tx.send(()).unwrap();
        }));
        for pend_once in [false, true] {
            let message = expect_panic(|| rt.block_on(ReadyThenPanicOnDrop { pend_once }));
            assert!(message.contains("panics in its Drop"), "{message}");
        }
        rt.block_on(async {
            within(LIMIT, "a task spawned before", async {
                while rx.try_recv().is_err() {
                    sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            assert_eq!(runtime::spawn(async { 7 }).await.unwrap(), 7);
        });
        drop(rt);
    }
}

tests::rt_test! {
    // Proves that an abort racing the poll that panics or completes (the gate opened from
    // another thread at the same moment) gives exactly one outcome per task, a right one:
    // the poll's panic with its message, the output, or cancelled; the future is dropped
    // once, an output made is dropped once. 1,000 tasks (soak-scaled), the three sites in
    // turn.
    fn abort_racing_a_panicking_or_completing_poll_has_one_outcome(flavor) {
        let rt = flavor.build();
        let sites = [Site::Poll, Site::FutureDrop, Site::OutputDrop];
        let tasks = tests::rt::soak(1_000);
        let (mut cancelled, mut finished) = (0, 0);
        rt.block_on(async {
            for i in 0..tasks {
                let site = sites[i % sites.len()];
                let label = Label(format!("race {i} {site:?}"));
                let counts = Arc::new(Counts::default());
                let handle = runtime::spawn(Hostile {
                    site,
                    label: label.clone(),
                    counts: counts.clone(),
                });
                until(&format!("{label}: first poll"), || Counts::get(&counts.polls) == 1).await;
                let opener = counts.clone();
                let open = std::thread::spawn(move || opener.open());
                handle.abort();
                open.join().unwrap();
                match (site, within(LIMIT, &label.0, handle).await) {
                    (_, Err(err)) if err.is_cancelled() => cancelled += 1,
                    (Site::Poll, Err(err)) => {
                        let message = panic_message(&*err.into_panic());
                        assert_eq!(message, format!("{label}: panic in poll"));
                        finished += 1;
                    }
                    (Site::FutureDrop, Ok(output)) => {
                        drop(output);
                        finished += 1;
                    }
                    (Site::OutputDrop, Ok(output)) => {
                        expect_panic(move || drop(output));
                        finished += 1;
                    }
                    (_, Err(err)) => panic!("{label}: {err}"),
                    (_, Ok(_)) => panic!("{label}: a panicking poll returned an output"),
                }
                assert_eq!(Counts::get(&counts.future_drops), 1, "{label}: future drops");
                let made = Counts::get(&counts.outputs_made);
                assert_eq!(Counts::get(&counts.output_drops), made, "{label}: output drops");
            }
        });
        assert_eq!(cancelled + finished, tasks);
    }
}

tests::rt_test! {
    // Proves that thread hooks that panic on every call (`on_thread_start`,
    // `on_thread_stop`) do not take the runtime's threads down: the panic is caught (the
    // hook prints it) and the thread goes on serving, so 100 tasks and a blocking job
    // complete and the drop finishes; each hook ran at least once.
    fn panicking_thread_hooks_leave_every_thread_serving(flavor) {
        let (starts, stops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (started, stopped) = (starts.clone(), stops.clone());
        let rt = flavor
            .builder()
            .on_thread_start(move || {
                started.fetch_add(1, Ordering::SeqCst);
                panic!("on_thread_start panics (expected by this test)");
            })
            .on_thread_stop(move || {
                stopped.fetch_add(1, Ordering::SeqCst);
                panic!("on_thread_stop panics (expected by this test)");
            })
            .build()
            .unwrap();
        let sum = rt.block_on(async {
            within(LIMIT, "tasks and a blocking job after panicking start hooks", async {
                let tasks: Vec<JoinHandle<usize>> = (0..100)
                    .map(|i| {
                        runtime::spawn(async move {
                            runtime::task::yield_now().await;
                            i
                        })
                    })
                    .collect();
                let mut sum = runtime::spawn_blocking(|| 1).await.unwrap();
                for task in tasks {
                    sum += task.await.unwrap();
                }
                sum
            })
            .await
        });
        assert_eq!(sum, 4_951);
        drop(rt);
        assert!(starts.load(Ordering::SeqCst) >= 1, "on_thread_start ran");
        assert!(stops.load(Ordering::SeqCst) >= 1, "on_thread_stop ran");
    }
}

/// How many threads of this process are named `name` (Linux: `/proc/self/task/*/comm`,
/// which holds the first 15 bytes of a thread's name).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("listing /proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

// Proves that a worker-naming function that panics partway through building a
// multi-thread runtime leaves nothing behind: the panic reaches `build`'s caller, and the
// worker already started under that name is stopped and joined, not left running
// unowned. (Multi-thread only: the current-thread flavor names no worker.)
#[test]
fn panicking_thread_name_fn_during_build_leaves_no_worker_running() {
    with_hang_guard(|| {
        const NAME: &str = "hname-panic";
        let (calls, starts) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (counted, started) = (calls.clone(), starts.clone());
        let message = expect_panic(|| {
            Flavor::MultiThread
                .builder()
                .thread_name_fn(move || {
                    if counted.fetch_add(1, Ordering::SeqCst) == 1 {
                        panic!("thread_name_fn panics on its second call (expected by this test)");
                    }
                    NAME.to_owned()
                })
                .on_thread_start(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                })
                .build()
        });
        assert!(message.contains("second call"), "{message}");
        // The first worker did start (it runs its start hook), under NAME; it must be
        // gone: wait (bounded) for the start, then for /proc to drop a joined thread.
        let give_up = std::time::Instant::now() + LIMIT;
        while starts.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(starts.load(Ordering::SeqCst), 1, "the first worker started");
        while threads_named(NAME) > 0 && std::time::Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            threads_named(NAME),
            0,
            "a worker started by the failed build still runs"
        );
    });
}

/// A panic payload whose own `Drop` counts, then panics.
struct PanickingPayload(Arc<AtomicUsize>);

impl Drop for PanickingPayload {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("a panic payload panics in its Drop (expected by this test)");
    }
}

tests::rt_test! {
    // Proves that a task that panics with a payload whose own Drop panics is contained
    // wherever the payload is dropped: by the worker that completes the task (handle
    // dropped before), or by `JoinHandle::drop` (handle dropped after completion). The
    // payload is dropped exactly once each time, nothing unwinds into the runtime or the
    // caller, and the runtime goes on running tasks.
    async fn panic_payload_that_panics_in_drop_is_contained() {
        let drops = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Counts::default());
        let (payload, opened) = (drops.clone(), gate.clone());
        let before = runtime::spawn(std::future::poll_fn(move |cx| -> Poll<()> {
            if !opened.open.load(Ordering::SeqCst) {
                *opened.waker.lock().unwrap() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::panic::panic_any(PanickingPayload(payload.clone()))
        }));
        runtime::task::yield_now().await;
        drop(before);
        gate.open();
        until("the runner drops the payload", || drops.load(Ordering::SeqCst) == 1).await;

        let payload = drops.clone();
        let after = runtime::spawn(async move {
            std::panic::panic_any(PanickingPayload(payload));
        });
        until("the task finishes", || after.is_finished()).await;
        drop(after);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "the handle dropped the payload once");
        assert_eq!(runtime::spawn(async { 3 }).await.unwrap(), 3);
    }
}
