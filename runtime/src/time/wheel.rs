//! A hierarchical timing wheel: timers keyed by a `u64` deadline in nanoseconds since the
//! timer driver's origin.
//!
//! Contract:
//! - [`Wheel::insert`] and [`Wheel::remove`] are O(1): each slot (and the due and overflow
//!   lists) is a doubly linked list threaded through slab indices, and every entry records
//!   the list it is in.
//! - [`Wheel::advance`]`(now, fire)` hands `fire` every entry whose deadline is `<= now`,
//!   and no other. It only visits non-empty slots (a `u64` occupancy mask per level), so
//!   its cost follows the entries it fires, cascades or passes over in the level-0 slot
//!   that `now` falls in, not the time skipped. The overflow list (beyond 2^56 ns) is
//!   scanned whole when its earliest block may have begun.
//! - [`Wheel::next_wake`] is never later than the earliest deadline. It is exact when the
//!   earliest entry sits on level 0 or in the due list; otherwise it is the start of the
//!   slot that must cascade next, and the driver calls `advance` there and asks again.
//! - A [`Key`] carries a generation, so a key whose entry already fired or was removed is
//!   harmless even after the slab reuses its slot: lookups return `None`.
//! - `fire` receives owned values after they have left the wheel. If it panics, the
//!   wheel stays consistent; entries not yet fired stay in it.
//!
//! The level layout and placement rule are in [`level`]. Placement is relative to
//! `elapsed`, the time the wheel has advanced to. `advance` repeatedly takes the earliest
//! non-empty slot (the lowest non-empty level's lowest occupied slot): a level-0 slot
//! fires its entries with deadline `<= now`; a higher slot moves `elapsed` to its start
//! and re-places (cascades) its entries, which land on lower levels.

#[cfg(fuzzing)]
mod fuzz;
mod level;

use std::fmt;

use slab::Slab;

use level::{Home, LEVELS, Level};

#[cfg(fuzzing)]
pub use fuzz::{FuzzKey, FuzzWheel};

/// Names one entry of a [`Wheel`]. Stays harmless after the entry is gone: the wheel
/// checks its generation, so a reused slab slot is not mistaken for the old entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Slab index of the entry.
    index: usize,
    /// The wheel's insertion counter when the entry was inserted.
    generation: u32,
}

/// One timer: its deadline, value and links in its list.
#[derive(Debug)]
struct Entry<T> {
    /// Nanoseconds since the driver's origin.
    deadline: u64,
    /// Matches [`Key::generation`] of the key `insert` returned.
    generation: u32,
    /// The list this entry is linked into.
    home: Home,
    /// Previous entry in the list; `None` at the head.
    prev: Option<usize>,
    /// Next entry in the list; `None` at the tail.
    next: Option<usize>,
    /// The caller's payload (a waker, a task handle).
    value: T,
}

/// The earliest list with entries, and when its time comes.
#[derive(Clone, Copy, Debug)]
struct Expiration {
    /// A level slot or the overflow list.
    home: Home,
    /// First nanosecond the list covers.
    start: u64,
}

/// A hierarchical timing wheel of values `T`; see the module docs.
pub(crate) struct Wheel<T> {
    /// Every entry, whatever list it is in.
    entries: Slab<Entry<T>>,
    /// Six levels of 64 slots.
    levels: [Level; LEVELS],
    /// Head of the list of entries whose deadline was `<= elapsed` when placed.
    due: Option<usize>,
    /// Head of the list of entries beyond the levels' range.
    overflow: Option<usize>,
    /// The time the wheel has advanced to.
    elapsed: u64,
    /// Generation for the next inserted entry; wraps, so a stale key could only be
    /// confused after exactly 2^32 inserts that reuse its very slot.
    next_generation: u32,
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len())
            .field("elapsed", &self.elapsed)
            .field("next_wake", &self.next_wake())
            .finish_non_exhaustive()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel standing at time 0.
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            levels: [const { Level::new() }; LEVELS],
            due: None,
            overflow: None,
            elapsed: 0,
            next_generation: 0,
        }
    }

    /// Adds `value` to fire at `deadline`, in O(1). A deadline `<= elapsed()` fires on
    /// the next [`advance`](Self::advance).
    pub(crate) fn insert(&mut self, deadline: u64, value: T) -> Key {
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let home = level::home_for(self.elapsed, deadline);
        let index = self.entries.insert(Entry {
            deadline,
            generation,
            home,
            prev: None,
            next: None,
            value,
        });
        self.link(index, home);
        Key { index, generation }
    }

    /// Takes the entry `key` names out of the wheel, in O(1); `None` if it already fired
    /// or was removed.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        self.entry(key)?;
        Some(self.take(key.index))
    }

    /// The value of the entry `key` names; `None` if it already fired or was removed.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.entry(key)?;
        Some(&mut self.entries[key.index].value)
    }

    /// The deadline of the entry `key` names; `None` if it already fired or was removed.
    pub(crate) fn deadline(&self, key: Key) -> Option<u64> {
        self.entry(key).map(|entry| entry.deadline)
    }

    /// Number of entries waiting.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is waiting.
    #[cfg_attr(
        not(any(test, fuzzing)),
        expect(dead_code, reason = "the driver does not need it")
    )]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The time the wheel has advanced to.
    #[cfg_attr(
        not(any(test, fuzzing)),
        expect(dead_code, reason = "the driver does not need it")
    )]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// When the driver must next call [`advance`](Self::advance); `None` if the wheel is
    /// empty. Never later than the earliest deadline. Exact (the earliest deadline) when
    /// the earliest entry is due or on level 0; otherwise the start of the slot that
    /// cascades next, after which the driver asks again.
    pub(crate) fn next_wake(&self) -> Option<u64> {
        if self.due.is_some() {
            return self.min_deadline(Home::Due);
        }
        let next = self.next_expiration()?;
        match next.home {
            Home::Slot { level: 0, .. } => self.min_deadline(next.home),
            _ => Some(next.start),
        }
    }

    /// Advances the wheel to `now`, passing every entry whose deadline is `<= now` to
    /// `fire` (removed from the wheel first) and returning how many fired. Entries due
    /// later stay, even those in the slot `now` falls in. `fire` gets owned values while
    /// the wheel holds no borrow of them, so it may push them to a `Vec` that the caller
    /// wakes after releasing its lock. A `now` before `elapsed()` leaves `elapsed` as is.
    pub(crate) fn advance(&mut self, now: u64, mut fire: impl FnMut(T)) -> usize {
        let mut fired = 0;
        loop {
            fired += self.fire_list(Home::Due, now, &mut fire);
            let Some(next) = self.next_expiration().filter(|next| next.start <= now) else {
                break;
            };
            match next.home {
                Home::Slot { level: 0, .. } => {
                    self.elapsed = self.elapsed.max(next.start);
                    fired += self.fire_list(next.home, now, &mut fire);
                    if self.head(next.home).is_some() {
                        // What stays is due after `now`; every other slot is later still.
                        break;
                    }
                }
                Home::Overflow => {
                    if !self.cascade_overflow(now) {
                        break;
                    }
                }
                home => {
                    self.elapsed = next.start;
                    self.cascade(home);
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
        fired
    }

    /// The entry `key` names, if it is still the one the key was made for.
    fn entry(&self, key: Key) -> Option<&Entry<T>> {
        self.entries
            .get(key.index)
            .filter(|entry| entry.generation == key.generation)
    }

    /// The earliest non-empty level slot, else the overflow list, with its start time.
    /// Due entries are not considered.
    fn next_expiration(&self) -> Option<Expiration> {
        for (level, slots) in self.levels.iter().enumerate() {
            if let Some(slot) = slots.first_occupied() {
                debug_assert!(slot >= level::slot_index(self.elapsed, level));
                return Some(Expiration {
                    home: Home::Slot {
                        level: level as u8,
                        slot: slot as u8,
                    },
                    start: level::slot_start(self.elapsed, level, slot),
                });
            }
        }
        self.overflow.map(|_| Expiration {
            home: Home::Overflow,
            start: level::next_block_start(self.elapsed),
        })
    }

    /// Unlinks and fires every entry of `home` with deadline `<= now`; returns the count.
    fn fire_list(&mut self, home: Home, now: u64, fire: &mut impl FnMut(T)) -> usize {
        let mut fired = 0;
        let mut cursor = self.head(home);
        while let Some(index) = cursor {
            let entry = &self.entries[index];
            cursor = entry.next;
            if entry.deadline <= now {
                // The entry is out of the wheel before user code runs.
                fire(self.take(index));
                fired += 1;
            }
        }
        fired
    }

    /// Moves `elapsed` to the 2^56 ns block of the earliest overflow deadline and
    /// re-places the overflow list, if that block has begun by `now`.
    fn cascade_overflow(&mut self, now: u64) -> bool {
        let Some(earliest) = self.min_deadline(Home::Overflow) else {
            return false;
        };
        let start = level::block_start(earliest);
        if start > now {
            return false;
        }
        self.elapsed = start;
        self.cascade(Home::Overflow);
        true
    }

    /// Re-places every entry of `home` relative to the current `elapsed`; entries of a
    /// slot whose start `elapsed` has reached land on lower levels (or due).
    fn cascade(&mut self, home: Home) {
        let mut cursor = self.head(home);
        self.set_head(home, None);
        while let Some(index) = cursor {
            let entry = &self.entries[index];
            cursor = entry.next;
            let new_home = level::home_for(self.elapsed, entry.deadline);
            self.link(index, new_home);
        }
    }

    /// The earliest deadline in list `home`, by walking it.
    fn min_deadline(&self, home: Home) -> Option<u64> {
        self.indices(home)
            .map(|index| self.entries[index].deadline)
            .min()
    }

    /// Slab indices of list `home`, head to tail.
    fn indices(&self, home: Home) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.head(home), |&index| self.entries[index].next)
    }

    /// Unlinks entry `index` and removes it from the slab.
    fn take(&mut self, index: usize) -> T {
        self.unlink(index);
        self.entries.remove(index).value
    }

    /// Pushes entry `index` at the head of list `home`.
    fn link(&mut self, index: usize, home: Home) {
        let next = self.head(home);
        let entry = &mut self.entries[index];
        entry.home = home;
        entry.prev = None;
        entry.next = next;
        if let Some(next) = next {
            self.entries[next].prev = Some(index);
        }
        self.set_head(home, Some(index));
    }

    /// Takes entry `index` out of its list, joining its neighbours.
    fn unlink(&mut self, index: usize) {
        let Entry {
            home, prev, next, ..
        } = self.entries[index];
        match prev {
            Some(prev) => self.entries[prev].next = next,
            None => self.set_head(home, next),
        }
        if let Some(next) = next {
            self.entries[next].prev = prev;
        }
    }

    /// First entry of list `home`.
    fn head(&self, home: Home) -> Option<usize> {
        match home {
            Home::Due => self.due,
            Home::Slot { level, slot } => self.levels[usize::from(level)].head(slot.into()),
            Home::Overflow => self.overflow,
        }
    }

    /// Replaces the first entry of list `home`.
    fn set_head(&mut self, home: Home, head: Option<usize>) {
        match home {
            Home::Due => self.due = head,
            Home::Slot { level, slot } => {
                self.levels[usize::from(level)].set_head(slot.into(), head);
            }
            Home::Overflow => self.overflow = head,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::level::{LEVELS, RANGE_BITS, SLOTS};
    use super::*;

    /// One level-0 tick.
    const TICK: u64 = 1 << 20;

    /// Width of one slot of `level`.
    fn slot_width(level: usize) -> u64 {
        TICK << (6 * level)
    }

    /// A small deterministic PRNG (splitmix64), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform-ish in `0..n` (`n > 0`); the modulo bias does not matter here.
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A span whose magnitude is spread over `0..2^max_bits`, so every level is hit.
        fn span(&mut self, max_bits: u64) -> u64 {
            let bits = self.below(max_bits + 1);
            self.next() & level::low_mask(bits as u32)
        }
    }

    /// Advances `wheel` to `now` and returns what fired, in firing order.
    fn advance<T>(wheel: &mut Wheel<T>, now: u64) -> Vec<T> {
        let mut fired = Vec::new();
        let count = wheel.advance(now, |value| fired.push(value));
        assert_eq!(count, fired.len());
        fired
    }

    impl<T> Wheel<T> {
        /// Every list is well linked, every entry is in exactly one list, occupancy bits
        /// match the slot heads.
        fn check_links(&self) {
            let mut homes = vec![Home::Due, Home::Overflow];
            for level in 0..LEVELS {
                for slot in 0..SLOTS {
                    let home = Home::Slot {
                        level: level as u8,
                        slot: slot as u8,
                    };
                    let occupied = self.levels[level].is_occupied(slot);
                    assert_eq!(occupied, self.head(home).is_some(), "{home:?}");
                    homes.push(home);
                }
            }
            let mut seen = 0;
            for home in homes {
                let mut prev = None;
                for index in self.indices(home) {
                    let entry = &self.entries[index];
                    assert_eq!(entry.home, home, "entry {index}");
                    assert_eq!(entry.prev, prev, "entry {index}");
                    prev = Some(index);
                    seen += 1;
                }
            }
            assert_eq!(seen, self.len());
        }

        /// Links are sound and every entry sits where `home_for` places it now: the
        /// state `advance` leaves behind when it returns normally.
        fn check_invariants(&self) {
            self.check_links();
            for (index, entry) in &self.entries {
                let expected = match level::home_for(self.elapsed, entry.deadline) {
                    // Due entries stay due even if their deadline is exactly elapsed.
                    _ if entry.home == Home::Due => Home::Due,
                    home => home,
                };
                assert_eq!(entry.home, expected, "entry {index} at {}", entry.deadline);
                if entry.home == Home::Due {
                    assert!(entry.deadline <= self.elapsed);
                }
            }
        }

        fn home_of(&self, key: Key) -> Home {
            self.entry(key).expect("live key").home
        }
    }

    #[test]
    fn entry_fires_at_its_deadline_and_not_before() {
        let mut wheel = Wheel::new();
        let deadline = 5 * TICK + 123;
        wheel.insert(deadline, "a");
        assert!(advance(&mut wheel, deadline - 1).is_empty());
        assert_eq!(wheel.elapsed(), deadline - 1);
        assert_eq!(advance(&mut wheel, deadline), ["a"]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_wake(), None);
    }

    #[test]
    fn entry_in_the_current_tick_stays_until_its_deadline() {
        let mut wheel = Wheel::new();
        wheel.insert(TICK + 900, 1);
        wheel.insert(TICK + 100, 0);
        assert_eq!(advance(&mut wheel, TICK + 500), [0]);
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.next_wake(), Some(TICK + 900));
        wheel.check_invariants();
        assert!(advance(&mut wheel, TICK + 899).is_empty());
        assert_eq!(advance(&mut wheel, TICK + 900), [1]);
    }

    #[test]
    fn remove_unlinks_head_middle_and_tail_of_one_slot() {
        let mut wheel = Wheel::new();
        let keys: Vec<Key> = (0..5).map(|i| wheel.insert(3 * TICK + i, i)).collect();
        let home = wheel.home_of(keys[0]);
        assert!(keys.iter().all(|&key| wheel.home_of(key) == home));
        let order = |wheel: &Wheel<u64>| -> Vec<usize> { wheel.indices(home).collect() };
        // Inserts push at the head: the list runs newest to oldest.
        assert_eq!(order(&wheel), [4, 3, 2, 1, 0].map(|i| keys[i].index));

        assert_eq!(wheel.remove(keys[2]), Some(2));
        assert_eq!(order(&wheel), [4, 3, 1, 0].map(|i| keys[i].index));
        wheel.check_invariants();
        assert_eq!(wheel.remove(keys[4]), Some(4));
        assert_eq!(order(&wheel), [3, 1, 0].map(|i| keys[i].index));
        wheel.check_invariants();
        assert_eq!(wheel.remove(keys[0]), Some(0));
        assert_eq!(order(&wheel), [3, 1].map(|i| keys[i].index));
        wheel.check_invariants();

        let mut fired = advance(&mut wheel, 4 * TICK);
        fired.sort_unstable();
        assert_eq!(fired, [1, 3]);
    }

    #[test]
    fn removing_the_last_entry_empties_the_slot() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(3 * slot_width(2) + 7, ());
        assert_eq!(wheel.home_of(key), Home::Slot { level: 2, slot: 3 });
        assert_eq!(wheel.levels[2].first_occupied(), Some(3));
        assert_eq!(wheel.remove(key), Some(()));
        assert_eq!(wheel.levels[2].first_occupied(), None);
        assert_eq!(wheel.next_wake(), None);
        wheel.check_invariants();
    }

    #[test]
    fn cascades_from_every_level_fire_exactly_at_the_deadline() {
        for level in 1..LEVELS {
            let mut wheel = Wheel::new();
            // Start mid-way, so slot starts are not all zero-aligned.
            advance(&mut wheel, 5 * TICK + 17);
            let deadline = 3 * slot_width(level) + 2 * slot_width(level - 1) + 12_345;
            let key = wheel.insert(deadline, level);
            let Home::Slot { level: placed, .. } = wheel.home_of(key) else {
                panic!("level {level}: deadline {deadline} within range");
            };
            assert_eq!(usize::from(placed), level);

            // Drive it as the timer driver will: sleep until next_wake, advance, repeat.
            let mut steps = 0;
            loop {
                let wake = wheel.next_wake().expect("entry still waiting");
                assert!(
                    wake <= deadline,
                    "level {level}: woke at {wake} > {deadline}"
                );
                let fired = advance(&mut wheel, wake);
                wheel.check_invariants();
                steps += 1;
                if !fired.is_empty() {
                    assert_eq!((fired, wake), (vec![level], deadline));
                    break;
                }
            }
            // One cascade per level on the way down, then the exact deadline.
            assert!(steps <= level + 1, "level {level}: {steps} steps");
        }
    }

    #[test]
    fn cascaded_entries_never_fire_early_when_jumping_past_slot_starts() {
        for level in 1..LEVELS {
            let mut wheel = Wheel::new();
            let deadline = 2 * slot_width(level) + slot_width(level - 1) + 1;
            wheel.insert(deadline, ());
            wheel.insert(deadline + 1, ());
            assert!(
                advance(&mut wheel, deadline - 1).is_empty(),
                "level {level}"
            );
            assert_eq!(wheel.next_wake(), Some(deadline), "level {level}");
            assert_eq!(advance(&mut wheel, deadline).len(), 1, "level {level}");
            assert_eq!(advance(&mut wheel, u64::MAX).len(), 1, "level {level}");
        }
    }

    #[test]
    fn next_wake_is_exact_on_level_zero() {
        let mut wheel = Wheel::new();
        wheel.insert(3 * TICK + 700, ());
        wheel.insert(3 * TICK + 200, ());
        wheel.insert(3 * TICK + 900, ());
        wheel.insert(40 * TICK, ());
        assert_eq!(wheel.next_wake(), Some(3 * TICK + 200));
        assert_eq!(advance(&mut wheel, 3 * TICK + 200).len(), 1);
        assert_eq!(wheel.next_wake(), Some(3 * TICK + 700));
    }

    #[test]
    fn next_wake_on_a_higher_level_is_the_cascade_point() {
        let mut wheel = Wheel::new();
        let deadline = 5 * slot_width(2) + 3 * slot_width(1) + 77;
        wheel.insert(deadline, ());
        assert_eq!(wheel.next_wake(), Some(5 * slot_width(2)));
        advance(&mut wheel, 5 * slot_width(2));
        assert_eq!(
            wheel.next_wake(),
            Some(5 * slot_width(2) + 3 * slot_width(1))
        );
        advance(&mut wheel, 5 * slot_width(2) + 3 * slot_width(1));
        assert_eq!(wheel.next_wake(), Some(deadline));
    }

    #[test]
    fn past_deadlines_fire_on_the_next_advance() {
        let mut wheel = Wheel::new();
        advance(&mut wheel, 10 * TICK);
        let key = wheel.insert(5, "past");
        wheel.insert(10 * TICK, "now");
        assert_eq!(wheel.home_of(key), Home::Due);
        assert_eq!(wheel.next_wake(), Some(5));
        wheel.check_invariants();
        let mut fired = advance(&mut wheel, 10 * TICK);
        fired.sort_unstable();
        assert_eq!(fired, ["now", "past"]);
    }

    #[test]
    fn advancing_to_an_earlier_time_fires_nothing_later() {
        let mut wheel = Wheel::new();
        advance(&mut wheel, 100 * TICK);
        wheel.insert(50 * TICK, "due");
        wheel.insert(200 * TICK, "later");
        assert!(advance(&mut wheel, 10).is_empty());
        assert_eq!(wheel.elapsed(), 100 * TICK);
        assert_eq!(advance(&mut wheel, 100 * TICK), ["due"]);
    }

    #[test]
    fn u64_max_and_far_deadlines_neither_panic_nor_overflow() {
        let mut wheel = Wheel::new();
        let deadlines = [
            (1 << RANGE_BITS) - 1,
            1 << RANGE_BITS,
            (1 << 60) + 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        for deadline in deadlines {
            wheel.insert(deadline, deadline);
        }
        let mut fired = Vec::new();
        let mut steps = 0u64;
        while let Some(wake) = wheel.next_wake() {
            // Deadlines are sorted and fire in order: the next one is the earliest left.
            assert!(wake <= deadlines[fired.len()], "woke at {wake}");
            let now = advance(&mut wheel, wake);
            assert!(now.iter().all(|&deadline| deadline == wake));
            fired.extend(now);
            if every_step_unless_miri(steps) {
                wheel.check_invariants();
            }
            steps += 1;
        }
        assert_eq!(fired, deadlines);
        // Overflow wakes once per 2^56 ns block (~2.3 years), plus a cascade per level.
        assert!(steps <= 256 + 6 * deadlines.len() as u64, "{steps} steps");
        assert_eq!(wheel.elapsed(), u64::MAX);

        // One jump to the end of time fires them all too.
        let mut jump = Wheel::new();
        for deadline in deadlines {
            jump.insert(deadline, deadline);
        }
        let mut fired = advance(&mut jump, u64::MAX);
        fired.sort_unstable();
        assert_eq!(fired, deadlines);

        // At the end of time, u64::MAX is due at once.
        wheel.insert(u64::MAX, u64::MAX);
        assert_eq!(wheel.next_wake(), Some(u64::MAX));
        assert_eq!(advance(&mut wheel, u64::MAX), [u64::MAX]);
    }

    #[test]
    fn overflow_recascades_when_its_block_begins() {
        let mut wheel = Wheel::new();
        let deadline = (2 << RANGE_BITS) + 5 * TICK + 1;
        let key = wheel.insert(deadline, ());
        assert_eq!(wheel.home_of(key), Home::Overflow);
        assert_eq!(wheel.next_wake(), Some(1 << RANGE_BITS));
        assert!(advance(&mut wheel, 1 << RANGE_BITS).is_empty());
        assert_eq!(wheel.home_of(key), Home::Overflow);
        assert_eq!(wheel.next_wake(), Some(2 << RANGE_BITS));
        assert!(advance(&mut wheel, 2 << RANGE_BITS).is_empty());
        assert_eq!(wheel.home_of(key), Home::Slot { level: 0, slot: 5 });
        assert_eq!(wheel.next_wake(), Some(deadline));
        assert_eq!(advance(&mut wheel, deadline).len(), 1);
    }

    /// Whether to run the full invariant walk at step `step`: always natively, every
    /// 32nd step under miri, where walking all 384 slots each step dominates the run.
    fn every_step_unless_miri(step: u64) -> bool {
        !cfg!(miri) || step % 32 == 0
    }

    /// `next_wake` is never later than the earliest deadline, and is that deadline when
    /// the earliest entry is due or on level 0.
    fn check_next_wake<T>(wheel: &Wheel<T>, earliest: Option<(Key, u64)>) {
        let wake = wheel.next_wake();
        let Some((key, deadline)) = earliest else {
            return assert_eq!(wake, None);
        };
        let wake = wake.expect("non-empty wheel has a wake time");
        assert!(wake <= deadline, "next_wake {wake} > earliest {deadline}");
        if matches!(wheel.home_of(key), Home::Due | Home::Slot { level: 0, .. }) {
            assert_eq!(wake, deadline, "inexact on level 0");
        }
    }

    #[test]
    fn random_deadlines_fire_on_time_and_never_early() {
        let rounds = if cfg!(miri) { 300 } else { 10_000 };
        let mut rng = Rng(0x5EED);
        let mut wheel = Wheel::new();
        let mut live: BTreeMap<u64, (Key, u64)> = BTreeMap::new();
        let mut next_id = 0;
        let mut now = 0u64;
        for round in 0..rounds {
            match rng.below(10) {
                0..=4 => {
                    let deadline = match rng.below(20) {
                        0 => u64::MAX,
                        1 => now - rng.below(now.saturating_add(1)),
                        _ => now.saturating_add(rng.span(62)),
                    };
                    live.insert(next_id, (wheel.insert(deadline, next_id), deadline));
                    next_id += 1;
                }
                5 => {
                    let id = rng.below(next_id.max(1));
                    if let Some((key, _)) = live.remove(&id) {
                        assert_eq!(wheel.remove(key), Some(id));
                        assert_eq!(wheel.remove(key), None);
                    }
                }
                _ => {
                    now = match rng.below(100) {
                        0 => now.saturating_add(rng.span(60)),
                        1..=30 => wheel.next_wake().unwrap_or(now).max(now),
                        _ => now.saturating_add(rng.span(34)),
                    };
                    let earliest = live.values().min_by_key(|&&(_, d)| d).copied();
                    check_next_wake(&wheel, earliest);
                    for id in advance(&mut wheel, now) {
                        let (_, deadline) = live.remove(&id).expect("fired once");
                        assert!(deadline <= now, "fired {deadline} early at {now}");
                    }
                    let missed = live.values().find(|&&(_, d)| d <= now);
                    assert_eq!(missed, None, "not fired by {now}");
                }
            }
            assert_eq!(wheel.len(), live.len());
            if every_step_unless_miri(round) {
                wheel.check_invariants();
            }
        }
        assert!(next_id > rounds / 3);
    }

    #[test]
    fn twenty_thousand_entries_all_fire_exactly_once() {
        let count = if cfg!(miri) { 400 } else { 20_000 };
        let mut rng = Rng(7);
        let mut wheel = Wheel::new();
        let mut latest = 0;
        for id in 0..count {
            let deadline = rng.span(40);
            latest = latest.max(deadline);
            wheel.insert(deadline, id);
        }
        assert_eq!(wheel.len(), count);
        let mut times_fired = vec![0u8; count];
        let mut now = 0;
        while now < latest {
            now = now.saturating_add(rng.span(32));
            let fired = wheel.advance(now, |id| times_fired[id] += 1);
            assert!(fired <= count);
        }
        assert!(times_fired.iter().all(|&times| times == 1));
        assert!(wheel.is_empty());
        assert!(wheel.entries.capacity() >= count);
    }

    #[test]
    fn stale_keys_after_fire_or_remove_are_harmless() {
        let mut wheel = Wheel::new();
        let fired = wheel.insert(TICK, 1);
        let removed = wheel.insert(2 * TICK, 2);
        let kept = wheel.insert(3 * TICK, 3);
        assert_eq!(wheel.remove(removed), Some(2));
        assert_eq!(advance(&mut wheel, TICK), [1]);
        for stale in [fired, removed] {
            assert_eq!(wheel.remove(stale), None);
            assert_eq!(wheel.get_mut(stale), None);
            assert_eq!(wheel.deadline(stale), None);
        }
        assert_eq!(wheel.deadline(kept), Some(3 * TICK));
        wheel.check_invariants();
    }

    #[test]
    fn reused_slab_slot_rejects_the_old_key() {
        let mut wheel = Wheel::new();
        let old = wheel.insert(TICK, "old");
        assert_eq!(wheel.remove(old), Some("old"));
        let new = wheel.insert(2 * TICK, "new");
        assert_eq!(old.index, new.index, "the slab reuses the vacated slot");
        assert_eq!(wheel.remove(old), None);
        assert_eq!(wheel.get_mut(old), None);
        assert_eq!(wheel.deadline(old), None);
        assert_eq!(wheel.len(), 1);

        // The same after the old entry fired rather than being removed.
        assert_eq!(advance(&mut wheel, 2 * TICK), ["new"]);
        let newer = wheel.insert(3 * TICK, "newer");
        assert_eq!(new.index, newer.index);
        assert_eq!(wheel.remove(new), None);
        assert_eq!(wheel.remove(newer), Some("newer"));
    }

    #[test]
    fn get_mut_and_deadline_follow_the_key() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(7 * slot_width(3), vec![1]);
        wheel.get_mut(key).expect("live").push(2);
        assert_eq!(wheel.deadline(key), Some(7 * slot_width(3)));
        assert_eq!(advance(&mut wheel, u64::MAX), [vec![1, 2]]);
    }

    #[test]
    fn panicking_fire_leaves_the_wheel_consistent() {
        let mut wheel = Wheel::new();
        for id in 0..6 {
            wheel.insert(TICK + id, id);
        }
        wheel.insert(9 * slot_width(1), 100);
        let mut calls = 0;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            wheel.advance(2 * TICK, |_| {
                calls += 1;
                if calls == 3 {
                    panic!("a waker panicked");
                }
            })
        }));
        assert!(result.is_err());
        // The panicking entry was already out of the wheel; the rest are intact.
        wheel.check_links();
        assert_eq!(wheel.len(), 7 - 3);
        let mut fired = advance(&mut wheel, 2 * TICK);
        fired.sort_unstable();
        assert_eq!(fired.len(), 3);
        assert!(fired.iter().all(|&id| id < 6));
        wheel.check_invariants();
        assert_eq!(advance(&mut wheel, u64::MAX), [100]);
    }

    #[test]
    fn fired_wakers_can_be_woken_after_the_wheel_is_released() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let mut wheel: Wheel<Waker> = Wheel::new();
        for i in 0..3 {
            wheel.insert(i * TICK, Waker::from(count.clone()));
        }
        let mut to_wake = Vec::new();
        assert_eq!(wheel.advance(TICK, |waker| to_wake.push(waker)), 2);
        drop(wheel);
        to_wake.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
        assert_eq!(
            Arc::strong_count(&count),
            1,
            "dropping the wheel drops its wakers"
        );
    }
}
