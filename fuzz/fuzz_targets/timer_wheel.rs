//! The timer wheel against a model: arbitrary bytes decode into insert, cancel, reset
//! (cancel + insert), advance forward or backward, and advance to `next_wake`, applied
//! both to `runtime`'s hierarchical wheel and to a `BTreeMap` of (deadline, id). After
//! every advance the wheel must have fired exactly the entries with deadline `<= now`
//! (the model's, as a set: the wheel promises no order; the timer driver sorts) and
//! returned their count; after every operation its length, elapsed time and `next_wake`
//! (never later than the earliest deadline, `None` exactly when empty) must agree with the
//! model, and keys of fired or cancelled entries must stay dead; every 16th operation,
//! every live entry's deadline and value too.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use runtime::__private::{FuzzKey, FuzzWheel};

/// Operations per input, so one input cannot run for seconds.
const MAX_OPS: usize = 2_000;

/// Reads little-endian integers from the input; missing bytes read as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn u64(&mut self) -> u64 {
        let take = self.0.len().min(8);
        let mut bytes = [0; 8];
        bytes[..take].copy_from_slice(&self.0[..take]);
        self.0 = &self.0[take..];
        u64::from_le_bytes(bytes)
    }

    /// A distance spread over every scale from nanoseconds to the overflow range: a
    /// random value shifted right by a random amount.
    fn distance(&mut self) -> u64 {
        let shift = self.u8().unwrap_or(0) % 64;
        self.u64() >> shift
    }

    /// A deadline relative to `elapsed`: ahead, behind, just around a wheel level's slot
    /// boundary, or one of the extremes.
    fn deadline(&mut self, elapsed: u64) -> u64 {
        match self.u8().unwrap_or(0) % 6 {
            0 | 1 => elapsed.saturating_add(self.distance()),
            2 => elapsed.saturating_sub(self.distance()),
            3 => {
                // The next boundary of a level-L slot (2^(20 + 6L) ns), +-1 ns.
                let bits = 20 + 6 * u32::from(self.u8().unwrap_or(0) % 7);
                let width = 1u64 << bits.min(63);
                let boundary = (elapsed | (width - 1)).saturating_add(1);
                match self.u8().unwrap_or(0) % 3 {
                    0 => boundary - 1,
                    1 => boundary,
                    _ => boundary.saturating_add(1),
                }
            }
            4 => u64::MAX - u64::from(self.u8().unwrap_or(0)),
            _ => self.u64(),
        }
    }
}

/// What the wheel should hold.
#[derive(Default)]
struct Model {
    /// (deadline, id) of every live entry.
    by_deadline: BTreeMap<(u64, u64), ()>,
    /// id -> (key, deadline) of every live entry.
    live: BTreeMap<u64, (FuzzKey, u64)>,
    /// Keys of entries that fired or were cancelled (the latest few).
    dead: Vec<FuzzKey>,
    /// The time the wheel has advanced to.
    elapsed: u64,
    next_id: u64,
}

impl Model {
    fn insert(&mut self, wheel: &mut FuzzWheel, deadline: u64) {
        let id = self.next_id;
        self.next_id += 1;
        let key = wheel.insert(deadline, id);
        self.by_deadline.insert((deadline, id), ());
        self.live.insert(id, (key, deadline));
    }

    /// The `pick`-th live entry (modulo their number), if any.
    fn pick(&self, pick: u8) -> Option<u64> {
        let n = self.live.len();
        (n > 0).then(|| *self.live.keys().nth(usize::from(pick) % n).unwrap())
    }

    fn cancel(&mut self, wheel: &mut FuzzWheel, id: u64) {
        let (key, deadline) = self.live.remove(&id).unwrap();
        self.by_deadline.remove(&(deadline, id));
        assert_eq!(wheel.remove(key), Some(id), "cancel of a live entry");
        self.bury(key);
    }

    fn bury(&mut self, key: FuzzKey) {
        if self.dead.len() == 64 {
            self.dead.swap_remove(0);
        }
        self.dead.push(key);
    }

    fn advance(&mut self, wheel: &mut FuzzWheel, now: u64) {
        let (mut fired, count) = wheel.advance(now);
        assert_eq!(count, fired.len(), "advance's count");
        // Ids stay below u64::MAX, so this splits at "deadline > now", even for u64::MAX.
        let later = self.by_deadline.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut self.by_deadline, later);
        let mut expected: Vec<u64> = due.keys().map(|&(_, id)| id).collect();
        fired.sort_unstable();
        expected.sort_unstable();
        assert_eq!(fired, expected, "fired at {now} (elapsed {})", self.elapsed);
        for id in expected {
            let (key, _) = self.live.remove(&id).unwrap();
            self.bury(key);
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Compares the wheel with the model; every live entry's deadline and value only when
    /// `all` (every 16th operation and at the end: it costs a lookup per entry).
    fn check(&self, wheel: &mut FuzzWheel, all: bool) {
        assert_eq!(wheel.len(), self.live.len());
        assert_eq!(wheel.is_empty(), self.live.is_empty());
        assert_eq!(wheel.elapsed(), self.elapsed);
        let earliest = self
            .by_deadline
            .keys()
            .next()
            .map(|&(deadline, _)| deadline);
        match (wheel.next_wake(), earliest) {
            (None, None) => {}
            (Some(wake), Some(earliest)) => {
                assert!(
                    wake <= earliest,
                    "next_wake {wake} after deadline {earliest}"
                )
            }
            (wake, earliest) => panic!("next_wake {wake:?} with earliest deadline {earliest:?}"),
        }
        for (&id, &(key, deadline)) in self.live.iter().filter(|_| all) {
            assert_eq!(wheel.deadline(key), Some(deadline));
            assert_eq!(wheel.value(key), Some(id));
        }
        for &key in &self.dead {
            assert_eq!(wheel.deadline(key), None, "a dead key");
            assert_eq!(wheel.value(key), None, "a dead key");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut wheel = FuzzWheel::new();
    let mut model = Model::default();
    for step in 0..MAX_OPS {
        let Some(op) = input.u8() else { break };
        match op % 8 {
            0..=2 => {
                let deadline = input.deadline(model.elapsed);
                model.insert(&mut wheel, deadline);
            }
            3 => {
                if let Some(id) = model.pick(input.u8().unwrap_or(0)) {
                    model.cancel(&mut wheel, id);
                }
            }
            4 => {
                // Reset: what the timer driver does to move a timer.
                if let Some(id) = model.pick(input.u8().unwrap_or(0)) {
                    model.cancel(&mut wheel, id);
                    let deadline = input.deadline(model.elapsed);
                    model.insert(&mut wheel, deadline);
                }
            }
            5 => {
                let now = model.elapsed.saturating_add(input.distance());
                model.advance(&mut wheel, now);
            }
            6 => {
                // Backwards (a `now` before `elapsed`): fires only what is due by `now`.
                let now = model.elapsed.saturating_sub(input.distance());
                model.advance(&mut wheel, now);
            }
            _ => {
                // What the driver does: sleep until next_wake, advance there.
                if let Some(wake) = wheel.next_wake() {
                    model.advance(&mut wheel, wake);
                }
            }
        }
        model.check(&mut wheel, step % 16 == 0);
    }
    // Drain: everything left fires by u64::MAX.
    model.check(&mut wheel, true);
    model.advance(&mut wheel, u64::MAX);
    model.check(&mut wheel, true);
    assert!(wheel.is_empty());
});
