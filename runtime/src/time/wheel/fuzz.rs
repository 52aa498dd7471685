//! The wheel's API for the fuzz targets in `fuzz/` (only under `--cfg fuzzing`, which
//! `cargo fuzz` sets): the crate-private [`Wheel`] behind a public wrapper, with `u64`
//! values, so `fuzz/fuzz_targets/timer_wheel.rs` can check it against a `BTreeMap` model.

use super::{Key, Wheel};

/// A [`Wheel`] of `u64` values.
#[derive(Debug)]
pub struct FuzzWheel(Wheel<u64>);

/// A [`Key`] returned by [`FuzzWheel::insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuzzKey(Key);

impl FuzzWheel {
    /// An empty wheel at time 0.
    #[allow(clippy::new_without_default, reason = "a test seam, not an API")]
    pub fn new() -> Self {
        FuzzWheel(Wheel::new())
    }

    /// [`Wheel::insert`].
    pub fn insert(&mut self, deadline: u64, value: u64) -> FuzzKey {
        FuzzKey(self.0.insert(deadline, value))
    }

    /// [`Wheel::remove`].
    pub fn remove(&mut self, key: FuzzKey) -> Option<u64> {
        self.0.remove(key.0)
    }

    /// [`Wheel::deadline`].
    pub fn deadline(&self, key: FuzzKey) -> Option<u64> {
        self.0.deadline(key.0)
    }

    /// [`Wheel::get_mut`], read.
    pub fn value(&mut self, key: FuzzKey) -> Option<u64> {
        self.0.get_mut(key.0).copied()
    }

    /// [`Wheel::len`].
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// [`Wheel::is_empty`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// [`Wheel::elapsed`].
    pub fn elapsed(&self) -> u64 {
        self.0.elapsed()
    }

    /// [`Wheel::next_wake`].
    pub fn next_wake(&self) -> Option<u64> {
        self.0.next_wake()
    }

    /// [`Wheel::advance`]: the values fired, in the order the wheel fired them, and the
    /// count it returned.
    pub fn advance(&mut self, now: u64) -> (Vec<u64>, usize) {
        let mut fired = Vec::new();
        let count = self.0.advance(now, |value| fired.push(value));
        (fired, count)
    }
}
