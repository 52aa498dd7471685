//! Where a deadline lives in the wheel, and one level's slot heads.
//!
//! Contract: [`home_for`] maps `(elapsed, deadline)` to the list that must hold the
//! entry; [`slot_start`] gives the first nanosecond a slot covers; [`Level`] keeps 64
//! list heads and a bitmask with bit `s` set exactly when slot `s` is non-empty.
//!
//! Layout: level `L` has 64 slots of `2^(20 + 6L)` ns each, so level 0 ticks every
//! 2^20 ns (~1.05 ms) and the six levels together span 2^56 ns (~2.3 years):
//!
//! | level | slot width | level span |
//! |---|---|---|
//! | 0 | 2^20 ns ≈ 1.05 ms | 2^26 ns ≈ 67 ms |
//! | 1 | 2^26 ns ≈ 67 ms | 2^32 ns ≈ 4.3 s |
//! | 2 | 2^32 ns ≈ 4.3 s | 2^38 ns ≈ 4.6 min |
//! | 3 | 2^38 ns ≈ 4.6 min | 2^44 ns ≈ 4.9 h |
//! | 4 | 2^44 ns ≈ 4.9 h | 2^50 ns ≈ 13 days |
//! | 5 | 2^50 ns ≈ 13 days | 2^56 ns ≈ 2.3 years |
//!
//! A future deadline goes to the level of the highest bit (above the 20 tick bits) in
//! which it differs from `elapsed`, and to the slot its own bits name on that level.
//! So an entry on level `L` shares every bit above level `L` with `elapsed`: it lies in
//! the level-`L+1` slot that `elapsed` is in, and lower levels always run out first.
//! A deadline that differs above bit 56 goes to the overflow list.

/// Bits of one level's slot index.
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels.
pub(super) const LEVELS: usize = 6;
/// Bits of one level-0 tick: 2^20 ns.
const TICK_BITS: u32 = 20;
/// Bits of time the levels cover: a deadline that differs from `elapsed` in a higher
/// bit waits in the overflow list.
pub(super) const RANGE_BITS: u32 = shift(LEVELS);

/// The list an entry is linked into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Home {
    /// Deadline already reached (`<= elapsed`): fires on the next advance.
    Due,
    /// A slot of a level.
    Slot {
        /// Level, `0..LEVELS`.
        level: u8,
        /// Slot on that level, `0..SLOTS`.
        slot: u8,
    },
    /// Beyond the levels' range; re-placed when `elapsed` reaches its 2^56 block.
    Overflow,
}

/// Bit position of level `level`'s slot index; `shift(LEVELS)` is [`RANGE_BITS`].
const fn shift(level: usize) -> u32 {
    TICK_BITS + SLOT_BITS * level as u32
}

/// Mask of the bits below bit `bits` (`bits < 64`).
pub(super) const fn low_mask(bits: u32) -> u64 {
    (1 << bits) - 1
}

/// The slot of level `level` that time `t` falls in.
pub(super) fn slot_index(t: u64, level: usize) -> usize {
    ((t >> shift(level)) as usize) & (SLOTS - 1)
}

/// The list that holds an entry with `deadline` while the wheel stands at `elapsed`.
pub(super) fn home_for(elapsed: u64, deadline: u64) -> Home {
    if deadline <= elapsed {
        return Home::Due;
    }
    let differing = (deadline ^ elapsed) >> TICK_BITS;
    let level = if differing == 0 {
        0
    } else {
        (differing.ilog2() / SLOT_BITS) as usize
    };
    if level >= LEVELS {
        return Home::Overflow;
    }
    Home::Slot {
        level: level as u8,
        slot: slot_index(deadline, level) as u8,
    }
}

/// First nanosecond covered by slot `slot` of level `level`, in the level-`level+1`
/// slot that `elapsed` is in.
pub(super) fn slot_start(elapsed: u64, level: usize, slot: usize) -> u64 {
    (elapsed & !low_mask(shift(level + 1))) | ((slot as u64) << shift(level))
}

/// First nanosecond of the 2^56 ns block after the one `elapsed` is in: where the
/// overflow list must be looked at again. Saturates in the last block, where the
/// overflow list is always empty (no `u64` differs from `elapsed` above bit 56
/// while being later).
pub(super) fn next_block_start(elapsed: u64) -> u64 {
    (elapsed | low_mask(RANGE_BITS)).saturating_add(1)
}

/// First nanosecond of the 2^56 ns block that `t` is in.
pub(super) fn block_start(t: u64) -> u64 {
    t & !low_mask(RANGE_BITS)
}

/// One level: the head of each slot's list and which slots are non-empty.
#[derive(Debug)]
pub(super) struct Level {
    /// Slab index of each slot's first entry.
    heads: [Option<usize>; SLOTS],
    /// Bit `s` is set exactly when `heads[s]` is `Some`.
    occupied: u64,
}

impl Level {
    /// A level with every slot empty.
    pub(super) const fn new() -> Self {
        Level {
            heads: [None; SLOTS],
            occupied: 0,
        }
    }

    /// The first entry of slot `slot`.
    pub(super) fn head(&self, slot: usize) -> Option<usize> {
        self.heads[slot]
    }

    /// Replaces the first entry of slot `slot`, keeping the occupancy bit in step.
    pub(super) fn set_head(&mut self, slot: usize, head: Option<usize>) {
        self.heads[slot] = head;
        match head {
            Some(_) => self.occupied |= 1 << slot,
            None => self.occupied &= !(1 << slot),
        }
    }

    /// The lowest non-empty slot. The wheel keeps every occupied slot at or after the
    /// one `elapsed` is in, so this is also the earliest.
    pub(super) fn first_occupied(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// Whether slot `slot`'s occupancy bit is set (for invariant checks).
    #[cfg(test)]
    pub(super) fn is_occupied(&self, slot: usize) -> bool {
        self.occupied & (1 << slot) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: u64 = 1 << 20;

    fn slot(level: u8, slot: u8) -> Home {
        Home::Slot { level, slot }
    }

    #[test]
    fn layout_spans_two_to_the_56_nanoseconds() {
        assert_eq!(RANGE_BITS, 56);
        assert_eq!(SLOTS, 64);
        assert_eq!(shift(0), 20);
        assert_eq!(shift(5), 50);
    }

    #[test]
    fn deadline_at_or_before_elapsed_is_due() {
        assert_eq!(home_for(0, 0), Home::Due);
        assert_eq!(home_for(5 * TICK, 5 * TICK), Home::Due);
        assert_eq!(home_for(5 * TICK, 3), Home::Due);
        assert_eq!(home_for(u64::MAX, u64::MAX), Home::Due);
    }

    #[test]
    fn level_zero_holds_the_first_64_ticks_from_origin() {
        assert_eq!(home_for(0, 1), slot(0, 0));
        assert_eq!(home_for(0, TICK - 1), slot(0, 0));
        assert_eq!(home_for(0, TICK), slot(0, 1));
        assert_eq!(home_for(0, 63 * TICK), slot(0, 63));
        assert_eq!(home_for(0, 64 * TICK - 1), slot(0, 63));
    }

    #[test]
    fn each_level_starts_at_its_first_tick_boundary() {
        for level in 1..LEVELS {
            let start = 1u64 << shift(level);
            assert_eq!(home_for(0, start - 1), slot(level as u8 - 1, 63), "{level}");
            assert_eq!(home_for(0, start), slot(level as u8, 1), "{level}");
            assert_eq!(home_for(0, start * 63), slot(level as u8, 63), "{level}");
        }
    }

    #[test]
    fn deadline_beyond_two_to_the_56_overflows() {
        assert_eq!(home_for(0, (1 << 56) - 1), slot(5, 63));
        assert_eq!(home_for(0, 1 << 56), Home::Overflow);
        assert_eq!(home_for(0, u64::MAX), Home::Overflow);
        // Levels are relative to elapsed's 2^56 block: crossing into the next block,
        // however closely, waits in overflow until that block begins.
        assert_eq!(home_for((1 << 56) - 1, 1 << 56), Home::Overflow);
        assert_eq!(home_for(1 << 56, (1 << 56) + 1), slot(0, 0));
    }

    #[test]
    fn level_follows_the_highest_bit_that_differs_from_elapsed() {
        // In the same tick as elapsed: level 0, elapsed's own slot.
        let elapsed = 70 * TICK + 17;
        assert_eq!(home_for(elapsed, elapsed + 1), slot(0, 6));
        // Crossing a level-1 boundary by a single tick still needs level 1.
        let elapsed = 64 * TICK - 1;
        assert_eq!(home_for(elapsed, 64 * TICK), slot(1, 1));
        // Near the top of the range, a small step across bit 56 overflows.
        assert_eq!(home_for((1 << 56) - 1, 1 << 57), Home::Overflow);
        // In the last 2^56 block nothing later can overflow.
        let last_block = 255u64 << 56;
        assert_eq!(home_for(last_block, u64::MAX), slot(5, 63));
    }

    #[test]
    fn slot_start_is_the_first_nanosecond_of_the_slot() {
        let elapsed = (3 << 26) + 5 * TICK + 99;
        assert_eq!(slot_start(elapsed, 0, 5), (3 << 26) + 5 * TICK);
        assert_eq!(slot_start(elapsed, 0, 9), (3 << 26) + 9 * TICK);
        assert_eq!(slot_start(elapsed, 1, 7), 7 << 26);
        assert_eq!(slot_start(u64::MAX, 5, 63), u64::MAX - low_mask(50));
        for level in 0..LEVELS {
            let deadline = (5 << shift(level)) + 12345;
            let Home::Slot { level: l, slot: s } = home_for(0, deadline) else {
                panic!("{deadline} is within range");
            };
            assert_eq!(usize::from(l), level);
            let start = slot_start(0, level, s.into());
            assert_eq!(start, 5 << shift(level));
            assert!(deadline - start < 1 << shift(level));
        }
    }

    #[test]
    fn block_starts_never_overflow() {
        assert_eq!(next_block_start(0), 1 << 56);
        assert_eq!(next_block_start((1 << 56) - 1), 1 << 56);
        assert_eq!(next_block_start(1 << 56), 2 << 56);
        assert_eq!(next_block_start(u64::MAX), u64::MAX);
        assert_eq!(block_start(u64::MAX), 255 << 56);
    }

    #[test]
    fn occupancy_bit_tracks_slot_head() {
        let mut level = Level::new();
        assert_eq!(level.first_occupied(), None);
        level.set_head(63, Some(4));
        level.set_head(9, Some(2));
        assert_eq!(level.first_occupied(), Some(9));
        assert!(level.is_occupied(63) && level.is_occupied(9) && !level.is_occupied(0));
        level.set_head(9, None);
        assert_eq!(level.first_occupied(), Some(63));
        assert_eq!(level.head(63), Some(4));
        level.set_head(63, None);
        assert_eq!(level.first_occupied(), None);
    }
}
