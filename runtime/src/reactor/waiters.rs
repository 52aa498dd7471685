//! The tasks waiting on one registration, and the batches they are woken in.
//!
//! Two kinds of waiter (see `scheduled_io.rs` for the protocol that guards them): one
//! slot per direction for poll-based APIs, and a keyed list for `readiness()` futures, any
//! number at once. The list keeps its first waiter inline: most registrations have one
//! waiter at a time (a connection's task), and an idle connection then costs no allocation
//! beyond its `ScheduledIo`. A second concurrent waiter moves the list to a boxed slab,
//! which keeps its storage from then on.

use std::num::NonZeroU32;
use std::task::Waker;

use slab::Slab;

use super::scheduled_io::Direction;
use crate::wake::wake_caught;

#[derive(Debug, Default)]
pub(super) struct Waiters {
    /// The poll-based waiter for reading (the last poller wins).
    pub(super) reader: Option<Waker>,
    /// The poll-based waiter for writing.
    pub(super) writer: Option<Waker>,
    pub(super) list: WaiterList,
    /// How many wakers have been stored in `list`: the next store's stamp (protocol step 4).
    pub(super) stores: u64,
}

impl Waiters {
    /// Stores `waker` in `waiter`, stamped after every wake that has begun (step 4).
    pub(super) fn store(waiter: &mut Waiter, stores: &mut u64, waker: Waker) {
        waiter.waker = Some(waker);
        waiter.stamp = *stores;
        *stores += 1;
    }
}

#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) direction: Direction,
    /// Taken by the driver when it wakes this waiter.
    pub(super) waker: Option<Waker>,
    /// `Waiters::stores` when `waker` was stored: a wake that began later wakes it.
    pub(super) stamp: u64,
}

/// A waiter's place in a [`WaiterList`]: its index plus one, so `Option<WaiterKey>` is
/// four bytes in the future that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WaiterKey(NonZeroU32);

impl WaiterKey {
    fn new(index: usize) -> WaiterKey {
        // Reaching 2^32 waiters on one descriptor would take 128 GiB of waiters.
        let key = u32::try_from(index + 1).expect("fewer than 2^32 waiters on one descriptor");
        WaiterKey(NonZeroU32::new(key).expect("index + 1 is not zero"))
    }

    fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// Keyed storage for waiters: inline for the first, a slab once two wait at once.
#[derive(Debug, Default)]
pub(super) enum WaiterList {
    #[default]
    Empty,
    /// The only waiter, at index 0.
    One(Waiter),
    /// Boxed, so the list is the size of one waiter (`Direction`'s spare values hold the
    /// tag): 8 bytes less in every `ScheduledIo`, which puts it in a smaller malloc size
    /// class (112 bytes, not 128), for a pointer hop when two or more wait at once.
    Many(Box<Slab<Waiter>>),
}

impl WaiterList {
    pub(super) fn insert(&mut self, waiter: Waiter) -> WaiterKey {
        match self {
            WaiterList::Empty => {
                *self = WaiterList::One(waiter);
                WaiterKey::new(0)
            }
            WaiterList::One(_) => {
                let WaiterList::One(first) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                let mut slab = Box::new(Slab::with_capacity(2));
                slab.insert(first); // index 0, as it was
                let key = WaiterKey::new(slab.insert(waiter));
                *self = WaiterList::Many(slab);
                key
            }
            WaiterList::Many(slab) => WaiterKey::new(slab.insert(waiter)),
        }
    }

    /// Removes the waiter at `key`, which must be in the list.
    pub(super) fn remove(&mut self, key: WaiterKey) -> Waiter {
        match self {
            WaiterList::Many(slab) => slab.remove(key.index()),
            WaiterList::One(_) if key.index() == 0 => {
                let WaiterList::One(waiter) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                waiter
            }
            _ => unreachable!("no waiter at {key:?}"),
        }
    }

    /// The waiter at `key`, which must be in the list.
    pub(super) fn get_mut(&mut self, key: WaiterKey) -> &mut Waiter {
        match self {
            WaiterList::One(waiter) if key.index() == 0 => waiter,
            WaiterList::Many(slab) => &mut slab[key.index()],
            _ => unreachable!("no waiter at {key:?}"),
        }
    }

    /// Every waiter with its index, in index order.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut Waiter)> {
        let (one, many) = match self {
            WaiterList::Empty => (None, None),
            WaiterList::One(waiter) => (Some((0, waiter)), None),
            WaiterList::Many(slab) => (None, Some(slab.iter_mut())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        match self {
            WaiterList::Empty => 0,
            WaiterList::One(_) => 1,
            WaiterList::Many(slab) => slab.len(),
        }
    }
}

/// Wakers collected under the lock, woken after it is released. Wakes in batches of
/// `BATCH` so a descriptor with thousands of waiters never allocates; step 4 of the
/// protocol keeps the batches one consistent set.
pub(super) struct WakeList {
    wakers: [Option<Waker>; WakeList::BATCH],
    len: usize,
}

impl WakeList {
    const BATCH: usize = 32;

    pub(super) fn new() -> WakeList {
        WakeList {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.len == Self::BATCH
    }

    pub(super) fn extend_from(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            self.wakers[self.len] = Some(waker);
            self.len += 1;
        }
    }

    pub(super) fn wake_all(&mut self) {
        // Caught: a foreign waker that panics must not stop the driver or the batch.
        for waker in self.wakers[..self.len].iter_mut().filter_map(Option::take) {
            wake_caught(waker);
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter() -> Waiter {
        Waiter {
            direction: Direction::Read,
            waker: None,
            stamp: 0,
        }
    }

    #[test]
    fn the_list_is_the_size_of_one_waiter() {
        assert_eq!(size_of::<WaiterList>(), size_of::<Waiter>());
        assert_eq!(size_of::<Option<WaiterKey>>(), 4);
    }

    #[test]
    fn keys_stay_valid_when_a_second_waiter_moves_the_list_to_a_slab() {
        let mut list = WaiterList::default();
        let first = list.insert(waiter());
        list.get_mut(first).stamp = 7;
        assert!(matches!(list, WaiterList::One(_)), "one waiter is inline");
        let second = list.insert(waiter());
        assert!(matches!(list, WaiterList::Many(_)));
        assert_eq!(
            list.get_mut(first).stamp,
            7,
            "the first waiter kept its key"
        );
        assert_eq!(list.remove(first).stamp, 7);
        let third = list.insert(waiter());
        assert_eq!(list.len(), 2);
        let indices: Vec<usize> = list.iter_mut().map(|(i, _)| i).collect();
        let mut want = vec![second.index(), third.index()];
        want.sort_unstable();
        assert_eq!(indices, want, "index order");
        list.remove(second);
        list.remove(third);
        assert_eq!(list.len(), 0);
        assert!(
            matches!(list, WaiterList::Many(_)),
            "the slab keeps its storage"
        );
    }

    #[test]
    fn a_removed_inline_waiter_empties_the_list() {
        let mut list = WaiterList::default();
        let key = list.insert(waiter());
        list.remove(key);
        assert!(matches!(list, WaiterList::Empty));
        assert_eq!(list.iter_mut().count(), 0);
        assert_eq!(list.insert(waiter()), key, "index 0 again");
    }
}
