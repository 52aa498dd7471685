//! `OwnedTasks`: the registry of every live task of one runtime, so shutdown can
//! reach tasks that are idle and referenced only by wakers.
//!
//! # Shards
//!
//! The registry is `N` shards (a power of two), each a `Mutex<Slab<Task<S>>>` with its own
//! `closed` flag, so workers that spawn and finish tasks at once seldom meet on one lock:
//! every task takes its shard's lock twice, at `bind` and at `remove`. A task's shard is
//! a hash of its address, so workers share no counter to pick one. The shard index and
//! the task's slab key in that shard are packed into its header (`Header::owned_key`):
//! written once, under the shard's mutex, before `bind` returns the task's handles, and
//! read by `remove` before it locks, which the hand-off that gave the remover the task
//! orders after the write. Removal also compares the pointer, so a stale key or a
//! foreign registry removes nothing. The current-thread flavor and the blocking pool
//! use one shard.
//!
//! # Closing
//!
//! `close_and_shutdown_all` first sets `closed` in every shard, each under its lock,
//! then drains the shards one by one and shuts the tasks down. A `bind` checks `closed`
//! and inserts in one hold of its shard's lock, so it either inserts before that shard
//! closed (and the drain finds the task) or sees `closed` and cancels its task: once the
//! call returns, no task is registered and no `bind` succeeds.
//!
//! # Counting, for a graceful shutdown
//!
//! Each shard counts the tasks it removed because they completed (`Shard::completed`,
//! under its lock, so it costs no shared cache line). A graceful shutdown reads the sum
//! when it begins ([`OwnedTasks::completed`]) and again in the lock hold that closes each
//! shard ([`OwnedTasks::close_and_count_all`]): the difference is the tasks that
//! completed in between, and the tasks drained at the close are the ones it cancels.
//!
//! No mutex is held while task code runs (futures' destructors, wakers, `Schedule`
//! callbacks), so all of those may spawn, wake or release freely.

use std::fmt;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;

use slab::Slab;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::Ordering::Relaxed;

use super::join::JoinHandle;
use super::raw::{self, Header};
use super::{Notified, Schedule, Task};

/// The most shards a registry has: past this, workers rarely collide anyway.
#[cfg(not(all(test, loom)))]
const MAX_SHARDS: usize = 64;

/// Under loom, a few shards are enough to race a `bind` against `close` in another one.
#[cfg(all(test, loom))]
const MAX_SHARDS: usize = 2;

/// Low bits of `Header::owned_key` holding the shard index; the slab key is above them.
const SHARD_BITS: u32 = MAX_SHARDS.trailing_zeros();

/// Every live task bound to one runtime.
pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Padded<Mutex<Shard<S>>>]>,
    /// `shards.len() - 1`.
    mask: usize,
    /// Loom replays each execution and expects the same locks in the same order, which
    /// heap addresses do not promise between runs: under loom, shards go round robin.
    #[cfg(all(test, loom))]
    next: std::sync::atomic::AtomicUsize,
}

/// One lock's worth of the registry.
struct Shard<S: 'static> {
    tasks: Slab<Task<S>>,
    /// Set by `close_and_shutdown_all`; later `bind`s to this shard cancel their task.
    closed: bool,
    /// Tasks ever registered here (for `RuntimeMetrics`): counted under the lock `bind`
    /// takes anyway, so spawners share no counter.
    registered: u64,
    /// Tasks `remove`d from this shard so far (each removal is a completion).
    completed: u64,
}

/// What [`OwnedTasks::close_and_count_all`] found: the tasks it cancelled, and the ones
/// that completed since a [`completed`](OwnedTasks::completed) reading.
#[derive(Debug, Default)]
pub(crate) struct ClosedCount {
    /// Tasks completed since the reading the caller passed in.
    pub(crate) finished: usize,
    /// Tasks still alive at the close, now cancelled.
    pub(crate) cancelled: usize,
    /// The names of the cancelled tasks that had one.
    pub(crate) cancelled_names: Vec<Arc<str>>,
}

/// Keeps two shards' locks off one cache line, so workers on different shards do not
/// meet on a line either (128 bytes: adjacent-line prefetching pairs 64-byte lines).
#[repr(align(128))]
struct Padded<T>(T);

impl<S: Schedule> OwnedTasks<S> {
    /// An empty, open registry with one shard: for a single thread of spawners.
    pub(crate) fn new() -> OwnedTasks<S> {
        OwnedTasks::with_shards(1)
    }

    /// An empty, open registry with `shards` shards, rounded up to a power of two and
    /// capped at 64. Four per worker thread keeps collisions rare.
    pub(crate) fn with_shards(shards: usize) -> OwnedTasks<S> {
        let shards = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        OwnedTasks {
            shards: (0..shards)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        tasks: Slab::new(),
                        closed: false,
                        registered: 0,
                        completed: 0,
                    }))
                })
                .collect(),
            mask: shards - 1,
            #[cfg(all(test, loom))]
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Allocates a task for `future` and registers it.
    ///
    /// Returns its `JoinHandle` and the first `Notified`, which the caller must
    /// schedule. If the registry is closed, the task is cancelled at once (the
    /// future is dropped here, the handle resolves to a cancelled `JoinError`) and
    /// no `Notified` is returned.
    pub(crate) fn bind<F>(
        &self,
        future: F,
        scheduler: S,
        name: Option<Arc<str>>,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let raw = raw::allocate(future, scheduler, None, name);
        // SAFETY: `allocate` just made `raw` with output type `F::Output` and three
        // references, one for each of the handles made here.
        unsafe { self.register(raw) }
    }

    /// Like [`bind`](Self::bind) for a `!Send` future: the current thread becomes
    /// the task's owner, the only thread that polls or drops its future.
    ///
    /// # Safety
    ///
    /// The scheduler must run the task only on this thread. Breaking this is not
    /// undefined behaviour — a runner on another thread cancels the task without
    /// polling it, and the future is leaked rather than dropped there (protocol
    /// rule 7) — but the task is lost, so it is a bug the caller signs off on here.
    pub(crate) unsafe fn bind_local<F>(
        &self,
        future: F,
        scheduler: S,
        name: Option<Arc<str>>,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let owner = Some(super::current_thread_id());
        let raw = raw::allocate(future, scheduler, owner, name);
        // SAFETY: as in `bind`.
        unsafe { self.register(raw) }
    }

    /// Splits a fresh task's three references into its handles and registers it,
    /// or cancels it if its shard is closed.
    ///
    /// # Safety
    ///
    /// `raw` was just returned by `raw::allocate` with output type `T`.
    unsafe fn register<T>(&self, raw: NonNull<Header>) -> (JoinHandle<T>, Option<Notified<S>>) {
        // SAFETY: a fresh task holds three references: one for each of these.
        let (task, notified, join) = unsafe {
            (
                Task::<S>::from_raw(raw),
                Notified::<S>::from_raw(raw),
                JoinHandle::<T>::from_raw(raw),
            )
        };
        let index = self.pick_shard(raw);
        let mut shard = self.shards[index].0.lock();
        if shard.closed {
            drop(shard);
            drop(notified);
            task.shutdown();
            return (join, None);
        }
        let entry = shard.tasks.vacant_entry();
        let owned_key = (entry.key() << SHARD_BITS) | index;
        task.header().owned_key.store(owned_key, Relaxed);
        entry.insert(task);
        shard.registered += 1;
        (join, Some(notified))
    }

    /// Removes `task` if it is registered here; returns the registry's reference.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        // Never written (`usize::MAX`) if `bind` refused the task: no slab has that key.
        let owned_key = task.header().owned_key.load(Relaxed);
        let (key, index) = (owned_key >> SHARD_BITS, owned_key & self.mask);
        let mut shard = self.shards[index].0.lock();
        let ours = shard
            .tasks
            .get(key)
            .is_some_and(|t| t.header_ptr() == task.header_ptr());
        if !ours {
            return None;
        }
        shard.completed += 1;
        Some(shard.tasks.remove(key))
    }

    /// How many tasks have completed (been removed) so far; see *Counting*.
    pub(crate) fn completed(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.0.lock().completed)
            .sum()
    }

    /// Returns `true` if no task is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|shard| shard.0.lock().tasks.is_empty())
    }

    /// Tasks ever registered (not those refused by a closed registry).
    pub(crate) fn registered_total(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.0.lock().registered)
            .sum()
    }

    /// Number of registered tasks (each shard counted under its own lock, so only
    /// exact while nobody binds or removes).
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.0.lock().tasks.len())
            .sum()
    }
}

impl<S: 'static> OwnedTasks<S> {
    /// The shard for the new task at `ptr`: a Fibonacci hash of its address, whose top
    /// bits spread even allocations that sit at regular strides.
    #[cfg(not(all(test, loom)))]
    fn pick_shard(&self, ptr: NonNull<Header>) -> usize {
        const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
        let hash = ptr.as_ptr().addr().wrapping_mul(GOLDEN as usize);
        (hash >> (usize::BITS - SHARD_BITS)) & self.mask
    }

    /// Under loom: round robin (see `next`).
    #[cfg(all(test, loom))]
    fn pick_shard(&self, _: NonNull<Header>) -> usize {
        self.next.fetch_add(1, Relaxed) & self.mask
    }

    /// Closes the registry and shuts down every task in it.
    ///
    /// An idle task has its future dropped here, exactly once, and its handle
    /// resolves to cancelled; a task being polled elsewhere is marked cancelled and
    /// its runner drops it when the poll returns. Destructors run without any lock
    /// held: they may wake tasks or spawn (a spawn is cancelled at once, since every
    /// shard is closed before the first task is shut down). Calling it again does
    /// nothing more.
    pub(crate) fn close_and_shutdown_all(&self) {
        for shard in self.shards.iter() {
            shard.0.lock().closed = true;
        }
        // Closed, so nothing new is inserted: one pass reaches every task.
        for shard in self.shards.iter() {
            let tasks: Vec<Task<S>> = shard.0.lock().tasks.drain().collect();
            for task in tasks {
                task.shutdown();
            }
        }
    }
}

impl<S: 'static> OwnedTasks<S> {
    /// Like [`close_and_shutdown_all`](Self::close_and_shutdown_all), and counts: the
    /// tasks completed since `completed_before` (an earlier [`completed`](Self::completed)
    /// reading), and the tasks it cancels, with their names. A task that completed but
    /// was not removed yet counts as finished; one being polled elsewhere right now is
    /// marked cancelled and counts as cancelled. A second call counts nothing.
    pub(crate) fn close_and_count_all(&self, completed_before: u64) -> ClosedCount {
        let mut completed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.0.lock();
            shard.closed = true;
            completed += shard.completed;
        }
        let mut count = ClosedCount {
            finished: usize::try_from(completed.saturating_sub(completed_before))
                .unwrap_or(usize::MAX),
            ..ClosedCount::default()
        };
        for shard in self.shards.iter() {
            let tasks: Vec<Task<S>> = shard.0.lock().tasks.drain().collect();
            for task in tasks {
                if task.header().state.load().is_complete() {
                    count.finished += 1;
                } else {
                    count.cancelled += 1;
                    count.cancelled_names.extend(task.name());
                }
                task.shutdown();
            }
        }
        count
    }
}

impl<S: Schedule> Default for OwnedTasks<S> {
    fn default() -> Self {
        OwnedTasks::new()
    }
}

/// A registry dropped with tasks still in it shuts them down, so no future
/// outlives its runtime's bookkeeping.
impl<S: 'static> Drop for OwnedTasks<S> {
    fn drop(&mut self) {
        self.close_and_shutdown_all();
    }
}

impl<S: 'static> fmt::Debug for OwnedTasks<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut len, mut closed) = (0, false);
        for shard in self.shards.iter() {
            let shard = shard.0.lock();
            len += shard.tasks.len();
            closed |= shard.closed;
        }
        f.debug_struct("OwnedTasks")
            .field("len", &len)
            .field("shards", &self.shards.len())
            .field("closed", &closed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scheduler that never runs anything: these tests only bind and close.
    struct Idle;

    impl Schedule for Idle {
        fn schedule(&self, _: Notified<Self>) {}

        fn release(&self, _: &Task<Self>) -> Option<Task<Self>> {
            None
        }
    }

    #[test]
    fn shard_count_is_a_power_of_two_up_to_the_cap() {
        for (asked, got) in [(0, 1), (1, 1), (3, 4), (8, 8), (1000, MAX_SHARDS)] {
            assert_eq!(OwnedTasks::<Idle>::with_shards(asked).shards.len(), got);
        }
    }

    #[test]
    fn tasks_spread_over_the_shards() {
        // Proves the address hash is not degenerate: 64 tasks land in more than half of
        // 8 shards (all in one would serialise the workers again).
        let owned = OwnedTasks::with_shards(8);
        let handles: Vec<_> = (0..64).map(|_| owned.bind(async {}, Idle, None)).collect();
        let used = owned
            .shards
            .iter()
            .filter(|shard| !shard.0.lock().tasks.is_empty())
            .count();
        assert!(used > 4, "64 tasks in only {used} of 8 shards");
        assert_eq!(owned.len(), 64);
        owned.close_and_shutdown_all();
        assert!(owned.is_empty());
        drop(handles);
    }
}
