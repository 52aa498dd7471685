//! Hostile timers (issue 10, section 6): 200,000 real-time timers over [0, 3 s] with 30%
//! cancelled and 20% reset across wheel-level boundaries, each survivor firing once and
//! never early; and the edge durations: `Duration::MAX`, `u64::MAX / 10` s, the wheel's
//! range +-1 ms, `interval(Duration::MAX)`, deadlines in the past, `timeout` of zero and
//! of `Duration::MAX`.
//!
//! Sizes come from [`tests::rt::soak`]: full in release (or `SOAK_SCALE=1`), a tenth in
//! debug; every assertion holds at every scale. Each test runs on both flavors under the
//! hang guard (`rt_test!`), and short bounds use `within`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures_util::StreamExt;
use runtime::time::{Instant, Sleep, interval, sleep, sleep_until, timeout, timeout_at};
use tests::net::within;
use tests::rt::{Flavor, Lcg, oneshot, poll_once, soak};
use tests::rt_test;

/// Generous bound for what must happen "at once" (a past deadline, a zero timeout).
const AT_ONCE: Duration = Duration::from_secs(5);
/// How long a far-future timer is watched to stay pending.
const STAYS_PENDING: Duration = Duration::from_millis(20);
/// The wheel's range: six levels of 64 slots over 2^20 ns ticks cover 2^56 ns (~2.3
/// years); later deadlines wait in its overflow list (`runtime/src/time/wheel/level.rs`).
const WHEEL_RANGE: Duration = Duration::from_nanos(1 << 56);
const TWENTY_YEARS: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);

// ---- the 200,000-timer storm --------------------------------------------------------------

/// What the storm does to one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Left alone: fires at its deadline.
    Plain,
    /// Dropped before its deadline.
    Cancel,
    /// 30 ms (level 0), reset to the long target (level 1 in debug, level 2 at full size).
    Up,
    /// 30 ms, reset to 5 s (level 2), then reset back into the span (level 0 or 1).
    UpAndBack,
    /// 5 s (level 2), reset to 40 ms from then (level 0).
    Down,
}

/// An operation the storm applies at `at` (ns after its start).
#[derive(Clone, Copy, Debug)]
struct Op {
    at: u64,
    timer: usize,
    kind: OpKind,
}

#[derive(Clone, Copy, Debug)]
enum OpKind {
    Cancel,
    /// Reset to this long after the moment the reset is made.
    ResetIn(Duration),
}

/// Indices of timers woken and not yet looked at, and the storm thread to unpark.
struct Ready {
    woken: Mutex<Vec<usize>>,
    thread: thread::Thread,
}

/// One timer's own waker: counts its wakes and checks each against the deadline in force.
struct Probe {
    index: usize,
    /// The storm's start, which deadlines are counted from.
    start: std::time::Instant,
    /// The deadline in force (ns after `start`); during a reset the earlier of the two.
    deadline: AtomicU64,
    wakes: AtomicU32,
    /// Wakes that came before the deadline in force, and by how much the first one was.
    early: AtomicU32,
    early_by: AtomicU64,
    ready: Arc<Ready>,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let now = self.start.elapsed().as_nanos() as u64;
        let deadline = self.deadline.load(Ordering::SeqCst);
        if now < deadline && self.early.fetch_add(1, Ordering::SeqCst) == 0 {
            self.early_by.store(deadline - now, Ordering::SeqCst);
        }
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.ready.woken.lock().unwrap().push(self.index);
        self.ready.thread.unpark();
    }
}

/// A timer of the storm and what has happened to it.
struct Timer {
    plan: Plan,
    /// The deadline (ns after the storm's start), as last set.
    deadline: u64,
    sleep: Option<Sleep>,
    probe: Arc<Probe>,
    waker: Waker,
    /// Completions seen (polls that returned `Ready`).
    completions: u32,
    /// The op found it already woken or done: it fired at its old deadline instead.
    late_op: bool,
    /// It was cancelled (dropped before it was woken).
    cancelled: bool,
    /// It was cancelled while its deadline was still ahead.
    cancelled_before_deadline: bool,
    /// A wake arrived while a reset was being made (the old deadline was just reached).
    raced_reset: bool,
}

impl Timer {
    fn woken_or_done(&self) -> bool {
        self.completions > 0 || self.probe.wakes.load(Ordering::SeqCst) > 0
    }
}

/// Counts for the report and for checking that every kind of operation happened.
#[derive(Debug, Default)]
struct StormCounts {
    registered_in: Duration,
    /// Longest an op came after its time.
    max_lateness: Duration,
    fired: usize,
    cancelled: usize,
    resets: usize,
    late_ops: usize,
}

/// The storm's sizes: `count` timers with deadlines over `[0, span]`, and the long reset
/// target of [`Plan::Up`].
struct StormSize {
    count: usize,
    span: Duration,
    long: Duration,
}

impl StormSize {
    fn from_soak() -> StormSize {
        StormSize {
            count: soak(200_000),
            span: Duration::from_millis(soak(3_000) as u64),
            long: Duration::from_millis(soak(5_000) as u64),
        }
    }
}

const LEVEL_0_SHORT: Duration = Duration::from_millis(30);
const LEVEL_0_DOWN: Duration = Duration::from_millis(40);
const LEVEL_2_FAR: Duration = Duration::from_secs(5);
/// The storm's time 0 is this long after it starts registering timers, so that every
/// timer is registered before the first reset (200,000 take ~200 ms in release with both
/// flavors' storms at once).
const LEAD: Duration = Duration::from_millis(500);
/// Cancels come at least this long before the deadline (when there is room for it).
const CANCEL_MARGIN: u64 = 10_000_000;

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// Draws each timer's plan and first deadline, and the operations on it.
fn plan_storm(size: &StormSize, rng: &mut Lcg) -> (Vec<(Plan, u64)>, Vec<Op>) {
    let span = ns(size.span);
    let mut timers = Vec::with_capacity(size.count);
    let mut ops = Vec::new();
    for timer in 0..size.count {
        let roll = rng.below(100);
        let (plan, deadline) = match roll {
            0..50 => (Plan::Plain, rng.below(span + 1)),
            50..80 => {
                let deadline = rng.below(span + 1);
                let at = rng.below(deadline.saturating_sub(CANCEL_MARGIN) + 1);
                ops.push(Op {
                    at,
                    timer,
                    kind: OpKind::Cancel,
                });
                (Plan::Cancel, deadline)
            }
            // The first reset of `Up` and `UpAndBack` comes 30 ms before the deadline, at a
            // time spread over the first quarter of the span (not all at once, which
            // would make the storm thread late for many of them).
            80..90 => {
                let at = rng.below(span / 4 + 1);
                let kind = OpKind::ResetIn(size.long);
                ops.push(Op { at, timer, kind });
                (Plan::Up, at + ns(LEVEL_0_SHORT))
            }
            90..95 => {
                let at = rng.below(span / 4 + 1);
                let kind = OpKind::ResetIn(LEVEL_2_FAR);
                ops.push(Op { at, timer, kind });
                let back_at = span / 4 + ns(LEVEL_0_SHORT) + rng.below(span / 4 + 1);
                let back = Duration::from_nanos(rng.below(span / 2 + 1));
                let kind = OpKind::ResetIn(back);
                ops.push(Op {
                    at: back_at,
                    timer,
                    kind,
                });
                (Plan::UpAndBack, at + ns(LEVEL_0_SHORT))
            }
            _ => {
                let at = rng.below(span / 2 + 1);
                ops.push(Op {
                    at,
                    timer,
                    kind: OpKind::ResetIn(LEVEL_0_DOWN),
                });
                (Plan::Down, ns(LEVEL_2_FAR))
            }
        };
        timers.push((plan, ns(LEAD) + deadline));
    }
    for op in &mut ops {
        op.at += ns(LEAD);
    }
    ops.sort_by_key(|op| op.at);
    (timers, ops)
}

/// Runs the storm on the calling thread (which must have entered the runtime), parking
/// between operations; returns the timers once every survivor has fired.
fn run_storm(size: &StormSize, seed: u64) -> (Vec<Timer>, StormCounts) {
    let (plans, ops) = plan_storm(size, &mut Lcg::new(seed));
    let ready = Arc::new(Ready {
        woken: Mutex::new(Vec::new()),
        thread: thread::current(),
    });
    let start = Instant::now();
    let mut counts = StormCounts::default();
    let mut timers: Vec<Timer> = plans
        .into_iter()
        .enumerate()
        .map(|(index, (plan, deadline))| {
            let probe = Arc::new(Probe {
                index,
                start: start.into_std(),
                deadline: AtomicU64::new(deadline),
                wakes: AtomicU32::new(0),
                early: AtomicU32::new(0),
                early_by: AtomicU64::new(0),
                ready: ready.clone(),
            });
            let mut timer = Timer {
                plan,
                deadline,
                sleep: Some(sleep_until(start + Duration::from_nanos(deadline))),
                waker: Waker::from(probe.clone()),
                probe,
                completions: 0,
                late_op: false,
                cancelled: false,
                cancelled_before_deadline: false,
                raced_reset: false,
            };
            poll_timer(&mut timer, start, &mut counts);
            timer
        })
        .collect();
    counts.registered_in = start.elapsed();
    let mut ops = ops.into_iter().peekable();
    // Timers still holding their sleep: each must complete or be cancelled.
    let mut alive = timers.iter().filter(|t| t.sleep.is_some()).count();
    loop {
        let now = ns(start.elapsed());
        while let Some(op) = ops.next_if(|op| op.at <= now) {
            apply(&mut timers[op.timer], op, start, &mut counts, &mut alive);
        }
        let woken = std::mem::take(&mut *ready.woken.lock().unwrap());
        for index in woken {
            let timer = &mut timers[index];
            if timer.sleep.is_some() && poll_timer(timer, start, &mut counts) {
                alive -= 1;
            }
        }
        let next_op = ops.peek().map(|op| op.at);
        if next_op.is_none() && alive == 0 {
            break;
        }
        let wait = next_op.map_or(u64::MAX, |at| at.saturating_sub(ns(start.elapsed())));
        thread::park_timeout(Duration::from_nanos(wait.min(50_000_000)));
    }
    // Every cancelled deadline has passed before the counts are read.
    let last = start + LEAD + size.span + Duration::from_millis(20);
    thread::sleep(last.saturating_duration_since(Instant::now()));
    (timers, counts)
}

/// Polls a timer with its own waker; on completion checks it against its deadline and
/// returns `true`.
fn poll_timer(timer: &mut Timer, start: Instant, counts: &mut StormCounts) -> bool {
    let sleep = timer
        .sleep
        .as_mut()
        .expect("polled only while it has a sleep");
    if Pin::new(sleep)
        .poll(&mut Context::from_waker(&timer.waker))
        .is_pending()
    {
        return false;
    }
    let fired_at = ns(start.elapsed());
    let deadline = timer.deadline;
    assert!(
        fired_at >= deadline,
        "timer {} ({:?}) completed {} ns before its deadline",
        timer.probe.index,
        timer.plan,
        deadline - fired_at
    );
    timer.completions += 1;
    timer.sleep = None;
    counts.fired += 1;
    true
}

/// Applies a cancel or reset, unless the timer already fired at its old deadline (the
/// storm thread came late): then it is left to complete.
fn apply(timer: &mut Timer, op: Op, start: Instant, counts: &mut StormCounts, alive: &mut usize) {
    let Op { at, kind, .. } = op;
    // A deadline already reached may have fired: its wake can still be on its way (the
    // driver wakes outside its lock), so the op would race with it. Leave such a timer
    // to complete at its old deadline.
    let now = ns(start.elapsed());
    counts.max_lateness = counts
        .max_lateness
        .max(Duration::from_nanos(now.saturating_sub(at)));
    if timer.sleep.is_none() || timer.woken_or_done() || now >= timer.deadline {
        timer.late_op = true;
        counts.late_ops += 1;
        return;
    }
    match kind {
        OpKind::Cancel => {
            timer.sleep = None;
            let dropped_at = ns(start.elapsed());
            timer.cancelled = true;
            timer.cancelled_before_deadline = dropped_at < timer.deadline;
            counts.cancelled += 1;
            *alive -= 1;
        }
        OpKind::ResetIn(after) => {
            let new = ns(start.elapsed() + after);
            let old = timer.deadline;
            // A wake from the old deadline racing with the reset is judged by it.
            timer.probe.deadline.store(old.min(new), Ordering::SeqCst);
            let sleep = timer.sleep.as_mut().expect("checked above");
            Pin::new(sleep).reset(start + Duration::from_nanos(new));
            timer.deadline = new;
            // The old deadline passed during the reset: its wake may come later still,
            // so wakes stay judged by the earlier deadline.
            let raced = ns(start.elapsed()) >= old || timer.probe.wakes.load(Ordering::SeqCst) > 0;
            timer.raced_reset = raced;
            if !raced {
                timer.probe.deadline.store(new, Ordering::SeqCst);
            }
            counts.resets += 1;
        }
    }
}

/// Checks every timer: none woken early, survivors completed exactly once after exactly
/// one wake (two if a reset raced with the old deadline), cancelled ones never woken.
fn check_storm(timers: &[Timer], counts: &StormCounts) {
    for timer in timers {
        let what = format!("timer {} ({:?})", timer.probe.index, timer.plan);
        let early = timer.probe.early.load(Ordering::SeqCst);
        assert_eq!(
            early,
            0,
            "{what} woken {early} time(s) before its deadline, first by {} ns",
            timer.probe.early_by.load(Ordering::SeqCst)
        );
        let wakes = timer.probe.wakes.load(Ordering::SeqCst);
        if timer.cancelled_before_deadline {
            assert_eq!(wakes, 0, "{what}: cancelled before its deadline, yet woken");
        }
        if timer.cancelled {
            // Dropped unwoken just after its deadline: a wake may have been on its way.
            assert!(wakes <= 1, "{what}: cancelled, yet woken {wakes} times");
            assert_eq!(timer.completions, 0, "{what}: cancelled, yet completed");
            continue;
        }
        assert_eq!(
            timer.completions, 1,
            "{what}: completed {} times",
            timer.completions
        );
        let most = if timer.raced_reset { 2 } else { 1 };
        assert!(wakes <= most, "{what}: woken {wakes} times (fires once)");
    }
    let reset_kinds = [Plan::Up, Plan::UpAndBack, Plan::Down];
    for kind in reset_kinds {
        assert!(
            timers.iter().any(|t| t.plan == kind && !t.late_op),
            "no {kind:?} reset was made in time: {counts:?}"
        );
    }
    assert!(
        counts.cancelled > 0,
        "nothing was cancelled in time: {counts:?}"
    );
}

/// Runs the storm on a thread outside the runtime (unconstrained by the task budget,
/// with a waker per timer) while the test thread drives the runtime in `block_on`.
fn storm_on(flavor: Flavor, seed: u64) {
    let size = StormSize::from_soak();
    let rt = flavor.build();
    let handle = rt.handle().clone();
    let (done, finished) = oneshot();
    let storm = thread::Builder::new()
        .name("timer-storm".into())
        .spawn(move || {
            let _enter = handle.enter();
            let (timers, counts) = run_storm(&size, seed);
            done.send(());
            (timers, counts)
        })
        .expect("spawning the storm thread");
    rt.block_on(finished);
    let (timers, counts) = storm
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    eprintln!("{flavor:?}: {} timers: {counts:?}", timers.len());
    check_storm(&timers, &counts);
}

rt_test! {
    // Proves: 200,000 timers (soak-scaled) with real-time deadlines spread over [0, 3 s],
    // 30% cancelled before their deadline, 20% reset across wheel levels (30 ms -> 5 s,
    // 30 ms -> 5 s -> back into the span, 5 s -> 40 ms): every surviving timer completes
    // exactly once after exactly one wake, and every wake comes at or after the deadline in
    // force (never early); no cancelled timer is ever woken. Each timer is polled with a
    // waker of its own, so a stray or early wake names the timer.
    fn storm_of_timers_fires_each_survivor_once_and_never_early(flavor) {
        storm_on(flavor, 0x7133_2000);
    }
}

// ---- edge durations ---------------------------------------------------------------------

/// Asserts `sleep` is pending now and stays pending for [`STAYS_PENDING`].
async fn assert_stays_pending(sleep: &mut Sleep, what: &str) {
    assert!(!sleep.is_elapsed(), "{what}: elapsed at once");
    assert_eq!(poll_once(sleep), Poll::Pending, "{what}: ready at once");
    assert!(
        timeout(STAYS_PENDING, &mut *sleep).await.is_err(),
        "{what}: completed within {STAYS_PENDING:?}"
    );
    assert_eq!(poll_once(sleep), Poll::Pending, "{what}: ready afterwards");
}

/// The earliest `Instant` this platform can represent among some far-past candidates.
fn far_past() -> Instant {
    let now = Instant::now();
    [u64::MAX / 10, 1 << 40, 1 << 32, 365 * 24 * 3600, 3600, 1]
        .into_iter()
        .find_map(|secs| now.checked_sub(Duration::from_secs(secs)))
        .expect("the monotonic clock is past 1 s")
}

rt_test! {
    // Proves: `sleep(Duration::MAX)` and `sleep(u64::MAX / 10 s)`, and `sleep_until` of an
    // instant that far ahead (where `Instant` can hold it: then the wheel's nanosecond
    // deadline saturates), do not panic or overflow, lie decades ahead, stay pending, can
    // be dropped (cancelled) while registered, and a task awaiting one can be aborted.
    async fn far_future_sleeps_stay_pending_and_drop() {
        let huge = [Duration::MAX, Duration::from_secs(u64::MAX / 10)];
        for duration in huge {
            let mut far = sleep(duration);
            assert!(far.deadline() > Instant::now() + TWENTY_YEARS, "{duration:?}");
            assert_stays_pending(&mut far, &format!("sleep({duration:?})")).await;
            drop(far);
            if let Some(at) = Instant::now().checked_add(duration) {
                let mut far = sleep_until(at);
                assert_stays_pending(&mut far, &format!("sleep_until(now + {duration:?})")).await;
            }
            let task = runtime::spawn(sleep(duration));
            sleep(Duration::from_millis(1)).await;
            task.abort();
            let err = within(AT_ONCE, "aborting a far sleeper", task).await.unwrap_err();
            assert!(err.is_cancelled(), "{err}");
        }
        // The runtime still keeps time afterwards.
        within(AT_ONCE, "a 5 ms sleep", sleep(Duration::from_millis(5))).await;
    }

    // Proves: deadlines at the wheel's range (2^56 ns, ~2.3 years) and 1 ms either side of
    // it (the last level-5 slots and the overflow list) register without panicking, stay
    // pending while a short timer beside them fires on time, can be reset back to 10 ms
    // (and then fire, not early), and can be cancelled by drop.
    async fn wheel_range_edges_register_reset_and_cancel() {
        let ms = Duration::from_millis(1);
        for duration in [WHEEL_RANGE - ms, WHEEL_RANGE, WHEEL_RANGE + ms] {
            let what = format!("sleep({duration:?})");
            let mut edge = sleep(duration);
            assert_stays_pending(&mut edge, &what).await;
            let short = sleep(Duration::from_millis(5));
            let short_deadline = short.deadline();
            within(AT_ONCE, "a short timer beside it", short).await;
            assert!(Instant::now() >= short_deadline);
            assert_eq!(poll_once(&mut edge), Poll::Pending, "{what}");
            let back = Instant::now() + Duration::from_millis(10);
            Pin::new(&mut edge).reset(back);
            within(AT_ONCE, "the edge timer reset to 10 ms", &mut edge).await;
            assert!(Instant::now() >= back, "{what}: fired early after its reset");
            let mut cancelled = sleep(duration);
            assert_eq!(poll_once(&mut cancelled), Poll::Pending, "{what}");
            drop(cancelled);
        }
    }

    // Proves: on a paused clock (auto-advancing when idle), timers at the wheel's range
    // -1 ms, exactly and +1 ms, and `sleep(Duration::MAX)` (about 30 years, deep in the
    // overflow list), registered together, each fire at exactly their deadline: the wheel
    // cascades them down from level 5 and the overflow list without firing one early or
    // skipping one.
    fn wheel_range_edges_fire_exactly_on_a_paused_clock(flavor) {
        flavor.block_on_paused(async {
            let ms = Duration::from_millis(1);
            let durations = [WHEEL_RANGE - ms, WHEEL_RANGE, WHEEL_RANGE + ms, Duration::MAX];
            let sleepers: Vec<_> = durations
                .into_iter()
                .map(|duration| {
                    let timer = sleep(duration);
                    let deadline = timer.deadline();
                    let task = runtime::spawn(async move {
                        timer.await;
                        Instant::now()
                    });
                    (duration, deadline, task)
                })
                .collect();
            for (duration, deadline, task) in sleepers {
                // No `within` here: its own timer would be the earliest and fire first. The
                // hang guard bounds this test.
                let fired = task.await.unwrap();
                assert_eq!(fired, deadline, "sleep({duration:?}) fired off its deadline");
            }
        });
    }

    // Proves: `interval(Duration::MAX)` ticks at once, then its next tick (about 30 years
    // ahead, not an overflow) stays pending; the same through its `Stream`.
    async fn interval_of_duration_max_ticks_once_then_stays_pending() {
        let before = Instant::now();
        let mut ticks = interval(Duration::MAX);
        let first = within(AT_ONCE, "the first tick", ticks.tick()).await;
        assert!(first >= before && first <= Instant::now(), "first tick at {first:?}");
        assert!(
            timeout(STAYS_PENDING, ticks.tick()).await.is_err(),
            "a second tick of interval(Duration::MAX)"
        );
        assert!(timeout(STAYS_PENDING, ticks.next()).await.is_err(), "the stream's next");
        assert_eq!(ticks.period(), Duration::MAX);
    }

    // Proves: deadlines in the past fire at once: `sleep_until(now - 1 s)` and of the
    // earliest representable instant (before the runtime's own time zero) complete on the
    // first poll; a sleep registered an hour ahead and reset into the far past is woken by
    // the driver at once; `interval_at` a past start ticks at once; `timeout_at` a past
    // deadline elapses at once.
    async fn past_deadlines_fire_at_once() {
        let second_ago = Instant::now().checked_sub(Duration::from_secs(1)).expect("uptime > 1 s");
        for past in [second_ago, far_past()] {
            let mut gone = sleep_until(past);
            assert!(gone.is_elapsed(), "{past:?}");
            assert_eq!(poll_once(&mut gone), Poll::Ready(()), "{past:?}");
            let task = runtime::spawn(sleep_until(past));
            within(AT_ONCE, "a spawned past sleep", task).await.unwrap();
            let mut later = sleep(Duration::from_secs(3600));
            assert_eq!(poll_once(&mut later), Poll::Pending);
            let waiter = runtime::spawn(async move {
                // Registered with this task's waker, then moved into the past from outside.
                std::future::poll_fn(|cx| {
                    let polled = Pin::new(&mut later).poll(cx);
                    if polled.is_pending() {
                        Pin::new(&mut later).reset(past);
                    }
                    polled
                })
                .await;
            });
            within(AT_ONCE, "a sleep reset into the past", waiter).await.unwrap();
            let mut ticks = runtime::time::interval_at(past, Duration::from_secs(3600));
            within(AT_ONCE, "interval_at a past start", ticks.tick()).await;
            let never = std::future::pending::<()>();
            let elapsed = within(AT_ONCE, "timeout_at the past", timeout_at(past, never)).await;
            assert!(elapsed.is_err());
        }
    }

    // Proves: an interval far behind its schedule (started 2 h in the past with a 1 us
    // period: 7.2 billion missed ticks, more than a `u32` counts) with
    // `MissedTickBehavior::Skip` ticks once at once and then lands its next tick on the
    // schedule after now, not billions of ticks early (which would make it tick at once
    // again and again).
    async fn interval_skip_far_behind_lands_after_now() {
        let Some(start) = Instant::now().checked_sub(Duration::from_secs(2 * 3600)) else {
            return; // the monotonic clock is younger than 2 h: nothing to check
        };
        let period = Duration::from_micros(1);
        let mut ticks = runtime::time::interval_at(start, period);
        ticks.set_missed_tick_behavior(runtime::time::MissedTickBehavior::Skip);
        let before_first = Instant::now();
        assert_eq!(within(AT_ONCE, "the first, late tick", ticks.tick()).await, start);
        let second = within(AT_ONCE, "the second tick", ticks.tick()).await;
        assert!(
            second >= before_first,
            "Skip put the next tick {:?} before the moment it was computed",
            before_first - second
        );
    }

    // Proves: `timeout(Duration::ZERO, ..)` polls the future once (a ready one wins) and
    // elapses at once for a pending one; `timeout(Duration::MAX, ..)` never elapses: a
    // future that finishes in 5 ms wins, a pending one stays pending.
    async fn timeout_of_zero_and_max() {
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        let zero = timeout(Duration::ZERO, std::future::pending::<()>());
        assert!(within(AT_ONCE, "timeout(ZERO, pending)", zero).await.is_err());
        let slow = async {
            sleep(Duration::from_millis(5)).await;
            7
        };
        let won = within(AT_ONCE, "timeout(MAX, 5 ms)", timeout(Duration::MAX, slow)).await;
        assert_eq!(won, Ok(7));
        let mut never = timeout(Duration::MAX, std::future::pending::<()>());
        let mut never = Pin::new(&mut never);
        assert!(timeout(STAYS_PENDING, never.as_mut()).await.is_err(), "timeout(MAX, pending)");
    }
}
