//! A worker's run queue: a fixed-size lock-free ring that its owner pushes and pops, and
//! that other workers steal half of.
//!
//! # Protocol
//!
//! - `tail` is written only by the owner ([`Local`]); it publishes a slot with `Release`.
//! - `head` packs two 32-bit indices, `(steal, real)`. `real` is the next slot to take.
//!   `steal` equals `real` except while a stealer copies the slots `[steal, real)` out: a
//!   stealer first advances `real` past the slots it claims (a CAS), copies them, then
//!   moves `steal` up to `real` (a second CAS). Only one steal runs at a time: a stealer
//!   that sees `steal != real` gives up.
//! - The owner may write slot `tail` only if `tail - steal < CAPACITY`, so a slot being
//!   copied by a stealer is never overwritten. The owner pops by a CAS on `real` (it races
//!   with stealers), so every claimed index is taken by exactly one thread.
//! - When the ring is full the new task goes to the inject queue instead. (tokio moves the
//!   older half out in one batch, which amortises the lock but lets a task that keeps
//!   spawning push the tasks queued before it behind all of its own work; see the soak
//!   tests' spawn storms.)
//!
//! Indices are `u32` and wrap; the ring index is `index & MASK`. Values are moved in and
//! out of `MaybeUninit` slots: a slot is initialised exactly between the push that wrote
//! it and the pop or steal that claimed it.

use std::mem::MaybeUninit;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicU32, AtomicU64};

use crate::scheduler::inject::Inject;

/// Slots in the ring.
#[cfg(not(all(test, loom)))]
pub(super) const CAPACITY: usize = 256;
#[cfg(all(test, loom))]
pub(super) const CAPACITY: usize = 4;
const MASK: u32 = CAPACITY as u32 - 1;

struct Inner<T> {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

/// The owner's handle: push and pop. Exactly one exists per queue.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// Other workers' handle: steal.
pub(crate) struct Steal<T>(Arc<Inner<T>>);

// SAFETY: values of `T` move between threads through the slots (hence `T: Send`); the
// protocol above gives each initialised slot to exactly one thread.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; shared access is only to atomics and to slots claimed by the protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

/// A new empty queue and its two handles.
pub(crate) fn local<T>() -> (Steal<T>, Local<T>) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (Steal(inner.clone()), Local { inner })
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

impl<T> Inner<T> {
    /// Moves the value out of slot `index`.
    ///
    /// # Safety
    ///
    /// The caller claimed `index` by the protocol and the slot is initialised.
    unsafe fn take(&self, index: u32) -> T {
        self.buffer[(index & MASK) as usize].with(|slot| {
            // SAFETY: forwarded contract: the slot is ours and initialised.
            unsafe { (*slot).assume_init_read() }
        })
    }

    /// Writes `value` into slot `index`.
    ///
    /// # Safety
    ///
    /// The caller owns slot `index` (the owner writing at `tail`, or a stealer writing
    /// into its own queue past its `tail`) and the slot is not initialised.
    unsafe fn put(&self, index: u32, value: T) {
        self.buffer[(index & MASK) as usize].with_mut(|slot| {
            // SAFETY: forwarded contract.
            unsafe { (*slot).write(value) };
        });
    }

    fn len(&self) -> u32 {
        let (_, real) = unpack(self.head.load(Acquire));
        self.tail.load(Acquire).wrapping_sub(real)
    }
}

impl<T> Local<T> {
    /// Tasks in the queue (a snapshot; stealers may take some meanwhile).
    pub(crate) fn len(&self) -> usize {
        self.inner.len() as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Free slots for a batch the owner is about to push.
    pub(crate) fn remaining_slots(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        let tail = self.inner.tail.load(Relaxed);
        CAPACITY - tail.wrapping_sub(steal) as usize
    }

    /// Pushes `task` at the back; when the ring is full, onto `overflow` instead.
    pub(crate) fn push_back_or_overflow(&mut self, task: T, overflow: &Inject<T>) {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        // Only this thread writes `tail`.
        let tail = self.inner.tail.load(Relaxed);
        if tail.wrapping_sub(steal) >= CAPACITY as u32 {
            // Full: the new task waits in the inject queue, behind what is already there.
            // The tasks queued here keep their place, so a task that keeps spawning (or
            // yielding into a full ring) cannot push older tasks out behind its own work.
            if let Err(task) = overflow.push(task) {
                drop(task); // closed: shutdown already cancelled the task
            }
            return;
        }
        // SAFETY: `tail - steal < CAPACITY`, so the slot at `tail` is free and only this
        // thread (the owner) writes at `tail`.
        unsafe { self.inner.put(tail, task) };
        self.inner.tail.store(tail.wrapping_add(1), Release);
    }

    /// Pushes every item of `tasks` (at most `remaining_slots()` of them).
    pub(crate) fn push_batch(&mut self, tasks: impl Iterator<Item = T>, overflow: &Inject<T>) {
        for task in tasks {
            self.push_back_or_overflow(task, overflow);
        }
    }

    /// Takes the task at the front.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let mut head = self.inner.head.load(Acquire);
        let index = loop {
            let (steal, real) = unpack(head);
            if real == self.inner.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // With no steal running, both halves move together.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed `index`, which lies in `[real, tail)`: initialised.
        Some(unsafe { self.inner.take(index) })
    }
}

impl<T> Steal<T> {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Tasks in the queue (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize
    }

    /// Moves about half of this queue into `dst` and returns one of the moved tasks to run
    /// now. `None` if there was nothing to steal, another steal is running, or `dst` is
    /// more than half full.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) > CAPACITY as u32 / 2 {
            return None;
        }
        let n = self.steal_into_tail(dst, dst_tail);
        if n == 0 {
            return None;
        }
        // The last moved task is returned instead of published.
        let last = dst_tail.wrapping_add(n - 1);
        // SAFETY: `steal_into_tail` initialised `[dst_tail, dst_tail + n)` in our own ring,
        // beyond its published tail: nobody else can see it.
        let task = unsafe { dst.inner.take(last) };
        if n > 1 {
            dst.inner.tail.store(last, Release);
        }
        Some(task)
    }

    /// Claims half of this queue, copies it after `dst_tail` in `dst` without publishing,
    /// and returns how many were copied.
    fn steal_into_tail(&self, dst: &mut Local<T>, dst_tail: u32) -> u32 {
        let mut prev = self.0.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                return 0; // another worker is stealing from this queue
            }
            let tail = self.0.tail.load(Acquire);
            let available = tail.wrapping_sub(real);
            let n = available - available / 2;
            if n == 0 {
                return 0;
            }
            let next = pack(steal, real.wrapping_add(n));
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (real, n),
                Err(actual) => prev = actual,
            }
        };
        for i in 0..n {
            // SAFETY: our CAS claimed `[first, first + n)` of the source, initialised; the
            // destination slots after `dst_tail` are free (`dst` is at most half full) and
            // only its owner (this thread) writes there.
            unsafe {
                let task = self.0.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), task);
            }
        }
        self.finish_steal();
        n
    }

    /// Moves `steal` up to `real`: the copied slots are free for the owner again.
    fn finish_steal(&self) {
        let mut prev = self.0.head.load(Acquire);
        loop {
            let (_, real) = unpack(prev);
            match self
                .0
                .head
                .compare_exchange(prev, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return,
                // The owner popped meanwhile (moving `real`); try again.
                Err(actual) => prev = actual,
            }
        }
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Last handle gone: no thread can race us. Drop what is still queued.
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        let mut index = real;
        while index != tail {
            // SAFETY: `[real, tail)` is initialised and nobody else can claim it now.
            drop(unsafe { self.take(index) });
            index = index.wrapping_add(1);
        }
    }
}

impl<T> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("len", &self.len()).finish()
    }
}

impl<T> std::fmt::Debug for Steal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steal").field("len", &self.len()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn pops_in_push_order() {
        let (_steal, mut local) = local();
        let inject = Inject::new();
        for i in 0..10 {
            local.push_back_or_overflow(Box::new(i), &inject);
        }
        let popped: Vec<i32> = std::iter::from_fn(|| local.pop()).map(|b| *b).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_ring_sends_new_tasks_to_the_inject_queue_and_keeps_the_old_ones() {
        let (_steal, mut local) = local();
        let inject = Inject::new();
        for i in 0..CAPACITY + 2 {
            local.push_back_or_overflow(Box::new(i), &inject);
        }
        assert_eq!(local.len(), CAPACITY);
        assert_eq!(inject.len(), 2);
        assert_eq!(
            local.pop().map(|b| *b),
            Some(0),
            "the oldest keeps its place"
        );
        assert_eq!(inject.pop().map(|b| *b), Some(CAPACITY));
    }

    #[test]
    fn steal_takes_half_and_returns_one() {
        let (steal, mut victim) = local();
        let (_, mut thief) = local();
        let inject = Inject::new();
        for i in 0..10 {
            victim.push_back_or_overflow(Box::new(i), &inject);
        }
        let first = steal.steal_into(&mut thief).map(|b| *b);
        assert_eq!(first, Some(4), "the last of the five stolen runs first");
        assert_eq!(thief.len(), 4);
        assert_eq!(victim.len(), 5);
        assert_eq!(victim.pop().map(|b| *b), Some(5));
        assert_eq!(thief.pop().map(|b| *b), Some(0));
    }

    #[test]
    fn dropping_the_queue_drops_what_is_left() {
        let item = Arc::new(());
        let (steal, mut local) = local();
        let inject = Inject::new();
        for _ in 0..5 {
            local.push_back_or_overflow(item.clone(), &inject);
        }
        drop(local);
        assert_eq!(Arc::strong_count(&item), 6);
        drop(steal);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    #[test]
    fn owner_and_thieves_see_every_task_exactly_once() {
        const N: usize = if cfg!(miri) { 200 } else { 20_000 };
        let (steal, mut owner) = local::<Box<usize>>();
        let inject = Arc::new(Inject::new());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = Steal(steal.0.clone());
                let done = done.clone();
                std::thread::spawn(move || {
                    let (_, mut mine) = local::<Box<usize>>();
                    let mut seen = Vec::new();
                    loop {
                        let finished = done.load(std::sync::atomic::Ordering::Acquire);
                        if let Some(t) = steal.steal_into(&mut mine) {
                            seen.push(*t);
                        }
                        while let Some(t) = mine.pop() {
                            seen.push(*t);
                        }
                        if finished {
                            return seen;
                        }
                        std::thread::yield_now(); // let the owner run (matters under miri)
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        for i in 0..N {
            owner.push_back_or_overflow(Box::new(i), &inject);
            if i % 3 == 0 {
                seen.extend(owner.pop().map(|b| *b));
            }
        }
        seen.extend(std::iter::from_fn(|| owner.pop()).map(|b| *b));
        done.store(true, std::sync::atomic::Ordering::Release);
        for thief in thieves {
            seen.extend(thief.join().unwrap());
        }
        seen.extend(inject.take_all().into_iter().map(|b| *b));
        seen.sort_unstable();
        assert_eq!(seen, (0..N).collect::<Vec<_>>());
    }
}
