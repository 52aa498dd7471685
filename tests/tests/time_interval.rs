//! `Interval` as a `futures_core::Stream`: the first tick, spacing, and what each
//! `MissedTickBehavior` does after the task ran late.

use std::thread;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use runtime::time::{Instant, Interval, MissedTickBehavior, interval, interval_at};
use tests::rt::expect_panic;
use tests::rt_test;

const PERIOD: Duration = Duration::from_millis(10);

/// The next tick, which must be ready without waiting.
fn ready_tick(every: &mut Interval) -> Instant {
    every
        .next()
        .now_or_never()
        .expect("the tick was not ready at once")
        .expect("an interval never ends")
}

/// Sets up an interval whose task then runs late: ticks once (at `start`), then blocks
/// the thread for 3.5 periods, so the ticks at start + 1, 2 and 3 periods are missed.
/// Returns the interval and an instant taken after the block, before the next tick.
fn late_interval(behavior: MissedTickBehavior) -> (Interval, Instant, Instant) {
    let mut every = interval(PERIOD);
    every.set_missed_tick_behavior(behavior);
    assert_eq!(every.missed_tick_behavior(), behavior);
    let start = ready_tick(&mut every);
    thread::sleep(PERIOD * 7 / 2);
    let after_block = Instant::now();
    (every, start, after_block)
}

rt_test! {
    // Proves, through the Stream impl, that the first tick is immediate (ready on the
    // first poll, scheduled at the interval's start) and that later ticks are scheduled
    // at least a period apart and never observed before their scheduled instant.
    async fn interval_stream_ticks_first_at_once_then_a_period_apart() {
        let created = Instant::now();
        let mut every = interval(PERIOD);
        let first = ready_tick(&mut every);
        assert!(first >= created && first <= Instant::now());
        let mut previous = first;
        for _ in 0..5 {
            let scheduled = every.next().await.unwrap();
            assert!(Instant::now() >= scheduled, "tick observed before its schedule");
            assert!(scheduled - previous >= PERIOD, "ticks {:?} apart", scheduled - previous);
            previous = scheduled;
        }
        assert_eq!(every.period(), PERIOD);
    }

    // Proves that interval_at starts at the given instant: nothing before it, then the
    // schedule continues from it.
    async fn interval_at_first_ticks_at_its_start() {
        // 100 ms ahead: the "not yet" check must hold even if this thread is descheduled.
        let start = Instant::now() + Duration::from_millis(100);
        let mut every = interval_at(start, PERIOD);
        assert!(every.next().now_or_never().is_none(), "ticked before its start");
        assert_eq!(every.next().await, Some(start));
        assert!(Instant::now() >= start);
        assert_eq!(every.tick().await, start + PERIOD);
    }

    // Proves Burst (the default): after the task ran late, the missed ticks fire back to
    // back, each still carrying its original schedule (start + k periods).
    async fn burst_fires_missed_ticks_back_to_back_on_the_original_schedule() {
        assert_eq!(interval(PERIOD).missed_tick_behavior(), MissedTickBehavior::Burst);
        let (mut every, start, _) = late_interval(MissedTickBehavior::Burst);
        for k in 1..=3 {
            assert_eq!(ready_tick(&mut every), start + PERIOD * k);
        }
        let fourth = every.next().await.unwrap();
        assert_eq!(fourth, start + PERIOD * 4);
        assert!(Instant::now() >= fourth);
    }

    // Proves Delay: after the task ran late, one missed tick fires at once, then the
    // schedule restarts a full period after that late tick (no burst).
    async fn delay_restarts_the_schedule_a_period_after_the_late_tick() {
        let (mut every, start, after_block) = late_interval(MissedTickBehavior::Delay);
        assert_eq!(ready_tick(&mut every), start + PERIOD);
        let next = every.next().await.unwrap();
        assert!(next >= after_block + PERIOD, "the schedule was not delayed");
        assert!(Instant::now() >= next);
        let after = every.next().await.unwrap();
        assert!(after - next >= PERIOD);
    }

    // Proves Skip: after the task ran late, one missed tick fires at once, then the next
    // tick lands on the original grid (start + k periods) in the future, skipping the
    // rest of the missed ones.
    async fn skip_lands_the_next_tick_on_the_original_grid() {
        let (mut every, start, after_block) = late_interval(MissedTickBehavior::Skip);
        assert_eq!(ready_tick(&mut every), start + PERIOD);
        let next = every.next().await.unwrap();
        assert!(next > after_block, "a missed tick was not skipped");
        let offset = (next - start).as_nanos();
        assert_eq!(offset % PERIOD.as_nanos(), 0, "off the grid by {offset} ns");
    }

    // Proves that Interval::reset makes the next tick a full period from now.
    async fn reset_moves_the_next_tick_a_period_from_now() {
        // A long period: the "not yet" check must hold even if this thread is descheduled.
        let period = Duration::from_millis(100);
        let mut every = interval(period);
        ready_tick(&mut every);
        thread::sleep(period * 2); // the next tick is overdue
        let before = Instant::now();
        every.reset();
        assert!(every.next().now_or_never().is_none(), "an overdue tick survived reset");
        assert!(every.next().await.unwrap() >= before + period);
    }

    // Proves: `reset_immediately` makes an interval whose next tick is a minute away tick at
    // once, and the tick after that is a period later again.
    async fn reset_immediately_ticks_at_once() {
        let period = Duration::from_secs(60);
        let mut every = interval(period);
        ready_tick(&mut every);
        assert!(every.next().now_or_never().is_none(), "the second tick is a minute away");
        every.reset_immediately();
        every.tick().await;
        assert!(every.next().now_or_never().is_none(), "only one tick was due");
    }

    // Proves: `reset_after` and `reset_at` move the next tick to the asked instant, never
    // before it; a huge `reset_after` neither panics nor fires.
    async fn reset_after_and_reset_at_move_the_next_tick() {
        let mut every = interval(Duration::from_secs(60));
        ready_tick(&mut every);
        let before = Instant::now();
        every.reset_after(PERIOD);
        assert!(every.tick().await >= before + PERIOD);
        let at = Instant::now() + PERIOD;
        every.reset_at(at);
        assert_eq!(every.tick().await, at);
        every.reset_at(Instant::now() - PERIOD);
        ready_tick(&mut every);
        every.reset_after(Duration::MAX);
        assert!(every.next().now_or_never().is_none());
    }

    // Proves that a zero period is refused with a message saying what to use instead.
    fn zero_period_panics_with_a_message(flavor) {
        let rt = flavor.build();
        let _guard = rt.enter();
        let message = expect_panic(|| interval(Duration::ZERO));
        assert!(message.contains("non-zero"), "{message}");
    }
}
