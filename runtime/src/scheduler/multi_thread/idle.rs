//! Which workers are searching for work and which are asleep, so that a new task wakes
//! at most one sleeper, and only when no worker is already looking.
//!
//! # Protocol
//!
//! `state` packs two counts: workers *searching* (stealing, not yet running a task) in
//! the low bits and workers *unparked* (not asleep) above them. All operations on it are
//! `SeqCst`, which orders them with the queue pushes they pair with:
//!
//! - A producer pushes a task, then calls [`Idle::worker_to_notify`]: it wakes a sleeper
//!   only if nobody searches and somebody sleeps.
//! - A worker going to sleep leaves `searching` in [`Idle::transition_worker_to_parked`];
//!   if it was the last searcher it looks at every queue once more before sleeping.
//!
//! So either the producer sees no searcher and wakes someone, or the last searcher sees
//! the task: a task is never left queued with every worker asleep. At most half the
//! workers search at once, which bounds the stealing contention.
//!
//! A worker that queues a task on its own queue first asks [`Idle::may_have_sleeper`], a
//! plain load: if that is stale, another worker misses a chance to steal, but the task is
//! not lost, since its queue's owner runs it.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use parking_lot::Mutex;

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

#[derive(Debug)]
pub(super) struct Idle {
    state: AtomicUsize,
    /// Indices of sleeping workers.
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    /// Every worker starts unparked and not searching.
    pub(super) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// The sleeper to wake for a new task, if one should be woken. The woken worker counts
    /// as unparked and searching from here on.
    pub(super) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake_one() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        // Checked again under the lock: another producer may have woken one meanwhile.
        if !self.should_wake_one() {
            return None;
        }
        let index = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(index)
    }

    /// A cheap, possibly stale guess of whether [`worker_to_notify`](Idle::worker_to_notify)
    /// could find a sleeper. For a task pushed onto the pusher's own queue: that worker
    /// runs the task anyway, so a stale "no" costs parallelism, never the task.
    pub(super) fn may_have_sleeper(&self) -> bool {
        let state = self.state.load(Relaxed);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    fn should_wake_one(&self) -> bool {
        let state = self.state.fetch_add(0, SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// A worker found no work and sleeps. Returns `true` if it was the last searcher, which
    /// must then check every queue once more (see the protocol).
    pub(super) fn transition_worker_to_parked(&self, index: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        is_searching && num_searching(prev) == 1
    }

    /// A worker wants to steal. Refused when half the workers already search.
    pub(super) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * num_searching(state) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found a task. Returns `true` if it was the last searcher: it
    /// should wake another so the remaining work keeps being looked for.
    pub(super) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        num_searching(prev) == 1
    }

    /// A sleeping worker woke up with work of its own (the driver queued tasks on it):
    /// take it off the sleepers. Returns `false` if a producer already did.
    pub(super) fn unpark_worker_by_id(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        let Some(at) = sleepers.iter().position(|&i| i == index) else {
            return false;
        };
        sleepers.swap_remove(at);
        self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
        true
    }

    /// Whether every worker is asleep (none running or searching): the multi-thread half
    /// of the driver's auto-advance question.
    pub(super) fn all_parked(&self) -> bool {
        num_unparked(self.state.load(SeqCst)) == 0
    }

    /// Is the worker still asleep as far as producers know?
    pub(super) fn is_parked(&self, index: usize) -> bool {
        self.sleepers.lock().contains(&index)
    }

    /// Workers currently searching (for metrics and tests).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by tests"))]
    pub(super) fn searching(&self) -> usize {
        num_searching(self.state.load(SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_is_woken_while_someone_searches() {
        let idle = Idle::new(4);
        assert!(!idle.transition_worker_to_parked(3, false));
        assert!(idle.transition_worker_to_searching());
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "a searcher will find the task"
        );
        assert!(idle.transition_worker_from_searching());
        assert_eq!(idle.worker_to_notify(), Some(3));
        assert_eq!(idle.searching(), 1, "the woken worker searches");
        assert_eq!(idle.worker_to_notify(), None, "one wake at a time");
    }

    #[test]
    fn at_most_half_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
    }

    #[test]
    fn the_last_searcher_to_park_is_told_to_look_again() {
        let idle = Idle::new(2);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true));
        assert!(idle.is_parked(0));
        assert!(idle.unpark_worker_by_id(0));
        assert!(!idle.is_parked(0));
        assert!(!idle.unpark_worker_by_id(0));
    }
}
