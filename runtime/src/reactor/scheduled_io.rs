//! Per-registration readiness and the tasks waiting on it.
//!
//! # Protocol
//!
//! `readiness` is one atomic word:
//!
//! | bits | meaning | written by |
//! |---|---|---|
//! | 0..=4 | `sys::Readiness` bits (readable, writable, read/write closed, error) | the driver sets, consumers clear |
//! | 5 | `SHUTDOWN`: the reactor is gone; every wait fails | the driver, once |
//! | 16..=31 | the driver tick at which readiness was last set | the driver |
//!
//! 1. The driver ORs new readiness in and stamps its current tick, *then* locks `waiters`
//!    and takes every waker interested in that direction.
//! 2. A waiter checks readiness, and if none, locks `waiters`, checks again, and only then
//!    stores its waker. Since the driver sets readiness before taking the lock, one of the
//!    two checks sees it: no wakeup is lost.
//! 3. An operation that fails with `WouldBlock` clears the readiness it was granted via
//!    [`ScheduledIo::clear_after_would_block`], which compares ticks: if the driver stamped
//!    a new tick since the readiness was observed, an edge arrived after the failed
//!    operation and nothing is cleared. A caller's own `clear_readiness` (after a short
//!    read, say) keeps the closed bits, which only the kernel's `EAGAIN` can overrule.
//! 4. One wake wakes a consistent set: the waiters whose waker was stored before it first
//!    took the lock, each once. Every store is stamped with `Waiters::stores`; the wake
//!    notes the count on its first lock hold and skips later stamps, even when it releases
//!    the lock between batches. A waiter that stores a waker after that point (a new one,
//!    or a woken one that another worker ran and that waits again) checked the readiness
//!    under the lock after it was set (step 2), so skipping it loses nothing.
//!
//! Waiters are of two kinds: one slot per direction for poll-based APIs (`poll_read_ready`:
//! the last poller wins, like tokio), and a slab of waiters for `readable().await` /
//! `writable().await`, so any number of tasks can wait on one descriptor. The slab keeps
//! its storage, so a wait allocates nothing once the slab has grown to the peak number of
//! concurrent waiters (zero allocations for one waiter after the first).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use sys::Readiness;

use super::waiters::{Waiter, WaiterKey, Waiters, WakeList};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const READINESS_MASK: usize = 0b1_1111;
const SHUTDOWN: usize = 1 << 5;
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that let an operation in this direction make progress.
    pub(crate) fn mask(self) -> Readiness {
        match self {
            Direction::Read => Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR,
            Direction::Write => Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR,
        }
    }
}

/// Readiness observed at a tick: what a consumer was granted, and may later clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReadyEvent {
    pub(crate) tick: u16,
    pub(crate) ready: Readiness,
}

/// The shared state of one registration.
#[derive(Debug)]
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl Default for ScheduledIo {
    fn default() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }
}

impl ScheduledIo {
    /// Driver side: ORs `ready` in at `tick`, then wakes the waiters it concerns.
    pub(crate) fn set_readiness(&self, tick: u16, ready: Readiness) {
        let stamp = (tick as usize) << TICK_SHIFT;
        update(&self.readiness, |curr| {
            Some((curr & !TICK_MASK) | stamp | ready.as_u8() as usize)
        });
        self.wake(ready);
    }

    /// Clears what `event` granted, unless a newer tick has arrived since. Closed bits are
    /// kept: this is the caller's own judgement (a short read), not the kernel's word.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.clear(
            event,
            event.ready - (Readiness::READ_CLOSED | Readiness::WRITE_CLOSED),
        );
    }

    /// Clears everything `event` granted, closed bits included, after the operation it
    /// allowed returned `WouldBlock`: the kernel says there is nothing to do. Keeping a
    /// closed bit here would retry forever on sockets that report a hang-up but return
    /// `EAGAIN` (a Unix datagram or UDP socket after `shutdown(Read)`).
    pub(crate) fn clear_after_would_block(&self, event: ReadyEvent) {
        self.clear(event, event.ready);
    }

    fn clear(&self, event: ReadyEvent, bits: Readiness) {
        update(&self.readiness, |curr| {
            if tick_of(curr) != event.tick {
                return None; // a new edge arrived after the failed operation
            }
            Some(curr & !(bits.as_u8() as usize))
        });
    }

    /// Marks the registration dead (the reactor shut down) and wakes everyone.
    pub(crate) fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.wake(Readiness::from_u8(READINESS_MASK as u8));
    }

    /// The readiness usable in `direction` right now, or the shutdown error.
    pub(crate) fn ready_now(&self, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        self.ready_in(direction.mask())
    }

    /// The readiness among `mask`'s bits right now, from one snapshot (so one tick), or the
    /// shutdown error.
    pub(crate) fn ready_in(&self, mask: Readiness) -> Option<io::Result<ReadyEvent>> {
        let curr = self.readiness.load(Ordering::Acquire);
        if curr & SHUTDOWN != 0 {
            return Some(Err(gone()));
        }
        let ready = Readiness::from_u8((curr & READINESS_MASK) as u8);
        let ready = Readiness::from_u8(ready.as_u8() & mask.as_u8());
        (!ready.is_empty()).then_some(Ok(ReadyEvent {
            tick: tick_of(curr),
            ready,
        }))
    }

    /// Poll-based readiness: one waker slot per direction (the last poller wins).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(ready) = self.ready_now(direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        // A replaced waker is dropped after the lock: its `Drop` is user code.
        let replaced = match slot {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => slot.replace(cx.waker().clone()),
        };
        // Checked again under the lock: see the protocol, step 2.
        let ready = self.ready_now(direction);
        drop(waiters);
        drop(replaced);
        match ready {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// A future resolving when `direction` is ready; any number may wait at once.
    pub(crate) fn readiness(&self, direction: Direction) -> WaitReady<'_> {
        WaitReady {
            io: self,
            direction,
            key: None,
        }
    }

    fn wake(&self, ready: Readiness) {
        let wanted = |w: &Waiter| match w.direction {
            Direction::Read => ready.is_readable(),
            Direction::Write => ready.is_writable(),
        };
        let mut list = WakeList::new();
        let mut waiters = self.waiters.lock();
        // Wakers stored from here on are not this wake's (protocol, step 4).
        let cut = waiters.stores;
        if ready.is_readable() {
            list.extend_from(waiters.reader.take());
        }
        if ready.is_writable() {
            list.extend_from(waiters.writer.take());
        }
        // The first slab key not yet looked at.
        let mut next = 0;
        loop {
            let from = next;
            for (key, waiter) in waiters.list.iter_mut().skip_while(|&(key, _)| key < from) {
                next = key + 1;
                if waiter.stamp < cut && wanted(waiter) {
                    list.extend_from(waiter.waker.take());
                    if list.is_full() {
                        break;
                    }
                }
            }
            if !list.is_full() {
                break;
            }
            // Wake a full batch without holding the lock, then go on from the next key.
            drop(waiters);
            list.wake_all();
            waiters = self.waiters.lock();
        }
        drop(waiters);
        list.wake_all();
    }
}

/// The future returned by [`ScheduledIo::readiness`].
#[derive(Debug)]
pub(crate) struct WaitReady<'a> {
    io: &'a ScheduledIo,
    direction: Direction,
    /// Our entry in the waiter list, once we have waited.
    key: Option<WaiterKey>,
}

impl<'a> WaitReady<'a> {
    /// The registration this waits on.
    pub(crate) fn io(&self) -> &'a ScheduledIo {
        self.io
    }
}

impl Future for WaitReady<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.key.is_none() {
            if let Some(ready) = this.io.ready_now(this.direction) {
                return Poll::Ready(ready);
            }
        }
        let mut waiters = this.io.waiters.lock();
        // Checked again under the lock: see the protocol, step 2.
        if let Some(ready) = this.io.ready_now(this.direction) {
            if let Some(key) = this.key.take() {
                waiters.list.remove(key);
            }
            return Poll::Ready(ready);
        }
        let Waiters { list, stores, .. } = &mut *waiters;
        match this.key {
            Some(key) => {
                let waiter = list.get_mut(key);
                match &waiter.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => Waiters::store(waiter, stores, cx.waker().clone()),
                }
            }
            None => {
                let key = list.insert(Waiter {
                    direction: this.direction,
                    waker: None,
                    stamp: 0,
                });
                this.key = Some(key);
                Waiters::store(list.get_mut(key), stores, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for WaitReady<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let removed = self.io.waiters.lock().list.remove(key);
            drop(removed); // after the lock: a waker's `Drop` is user code
        }
    }
}

/// Applies `f` to `word` atomically (a compare-exchange loop); `None` leaves it as is.
fn update(word: &AtomicUsize, mut f: impl FnMut(usize) -> Option<usize>) {
    let mut curr = word.load(Ordering::Acquire);
    while let Some(next) = f(curr) {
        match word.compare_exchange_weak(curr, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(actual) => curr = actual,
        }
    }
}

fn tick_of(word: usize) -> u16 {
    ((word & TICK_MASK) >> TICK_SHIFT) as u16
}

pub(crate) fn gone() -> io::Error {
    io::Error::other("the runtime that owned this I/O resource has shut down")
}

#[cfg(test)]
mod tests {
    use super::super::waiters::WaiterList;
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn clear_after_wouldblock_keeps_an_edge_that_arrived_in_between() {
        let io = ScheduledIo::default();
        io.set_readiness(1, Readiness::READABLE);
        let event = io.ready_now(Direction::Read).unwrap().unwrap();
        // The operation fails with WouldBlock, but a new edge lands before the clear.
        io.set_readiness(2, Readiness::READABLE);
        io.clear_readiness(event);
        assert!(io.ready_now(Direction::Read).is_some(), "new edge lost");
        let event = io.ready_now(Direction::Read).unwrap().unwrap();
        io.clear_readiness(event);
        assert!(io.ready_now(Direction::Read).is_none());
    }

    #[test]
    fn would_block_clears_closed_bits_so_a_hangup_with_eagain_cannot_spin() {
        let io = ScheduledIo::default();
        io.set_readiness(1, Readiness::READ_CLOSED);
        let event = io.ready_now(Direction::Read).unwrap().unwrap();
        io.clear_after_would_block(event);
        assert!(io.ready_now(Direction::Read).is_none());
    }

    #[test]
    fn a_callers_clear_keeps_closed_bits() {
        let io = ScheduledIo::default();
        io.set_readiness(1, Readiness::READABLE | Readiness::READ_CLOSED);
        let event = io.ready_now(Direction::Read).unwrap().unwrap();
        io.clear_readiness(event);
        let left = io.ready_now(Direction::Read).unwrap().unwrap();
        assert_eq!(left.ready, Readiness::READ_CLOSED);
    }

    #[test]
    fn a_lone_waiter_is_stored_inline_and_a_second_still_finds_room() {
        let io = ScheduledIo::default();
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        let mut reader = Box::pin(io.readiness(Direction::Read));
        assert!(reader.as_mut().poll(&mut cx).is_pending());
        assert!(matches!(io.waiters.lock().list, WaiterList::One(_)));
        let mut writer = Box::pin(io.readiness(Direction::Write));
        assert!(writer.as_mut().poll(&mut cx).is_pending());
        assert_eq!(io.waiters.lock().list.len(), 2);
        // Both keys still reach their waiters after the move to a slab.
        io.set_readiness(1, Readiness::READABLE | Readiness::WRITABLE);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(reader.as_mut().poll(&mut cx).is_ready());
        assert!(writer.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn a_registration_fits_the_112_byte_malloc_class_with_its_arc_counts() {
        // glibc's chunk for a 104-byte request is 112 bytes; 105 would take 128. One
        // `ScheduledIo` lives as long as its descriptor is registered.
        assert!(size_of::<ScheduledIo>() + 2 * size_of::<usize>() <= 104);
    }

    #[test]
    fn a_waiting_future_is_two_words() {
        assert_eq!(size_of::<WaitReady<'_>>(), 2 * size_of::<usize>());
    }

    #[test]
    fn every_concurrent_waiter_of_a_direction_is_woken() {
        let io = ScheduledIo::default();
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        let mut futures: Vec<_> = (0..100)
            .map(|_| Box::pin(io.readiness(Direction::Read)))
            .collect();
        let mut writer = Box::pin(io.readiness(Direction::Write));
        for f in &mut futures {
            assert!(f.as_mut().poll(&mut cx).is_pending());
        }
        assert!(writer.as_mut().poll(&mut cx).is_pending());
        io.set_readiness(1, Readiness::READABLE);
        assert_eq!(count.0.load(Ordering::SeqCst), 100, "only readers wake");
        for f in &mut futures {
            assert!(f.as_mut().poll(&mut cx).is_ready());
        }
        assert!(writer.as_mut().poll(&mut cx).is_pending());
        drop(futures);
        drop(writer);
        assert_eq!(io.waiters.lock().list.len(), 0, "waiters removed on drop");
    }

    /// A waiter whose first wake plays another worker: it runs the woken task at once,
    /// which finds the readiness gone (`WouldBlock`) and waits again, storing a new waker
    /// while `set_readiness` is still waking the others; it may also start a new waiter.
    struct Requeue {
        io: &'static ScheduledIo,
        future: Mutex<Pin<Box<WaitReady<'static>>>>,
        wakes: AtomicUsize,
        /// Where the first wake starts a brand-new waiter, if anywhere.
        newcomers: Option<Arc<Mutex<Vec<Arc<Requeue>>>>>,
    }

    impl Requeue {
        fn start(
            io: &'static ScheduledIo,
            newcomers: Option<Arc<Mutex<Vec<Arc<Requeue>>>>>,
        ) -> Arc<Requeue> {
            let waiter = Arc::new(Requeue {
                io,
                future: Mutex::new(Box::pin(io.readiness(Direction::Read))),
                wakes: AtomicUsize::new(0),
                newcomers,
            });
            assert!(waiter.poll().is_pending());
            waiter
        }

        fn poll(self: &Arc<Self>) -> Poll<io::Result<ReadyEvent>> {
            let waker = Waker::from(self.clone());
            self.future
                .lock()
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
        }
    }

    impl Wake for Requeue {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            if self.wakes.fetch_add(1, Ordering::SeqCst) > 0 {
                return;
            }
            if let Some(Ok(event)) = self.io.ready_now(Direction::Read) {
                self.io.clear_after_would_block(event);
            }
            assert!(self.poll().is_pending(), "the readiness was cleared");
            if let Some(newcomers) = &self.newcomers {
                newcomers.lock().push(Requeue::start(self.io, None));
            }
        }
    }

    // Proves one `set_readiness` wakes a consistent set: every waiter registered before it
    // exactly once, and no waiter that registers (or re-registers) while it runs.
    // Steps: 100 readers wait; set_readiness wakes them in batches; each reader's first
    // wake clears the readiness, waits again with a fresh waker and starts a new reader,
    // all before the later batches are collected.
    #[test]
    fn one_wake_wakes_each_earlier_waiter_once_and_no_later_one() {
        // Leaked: the futures live inside `'static` wakers, so they borrow it for good.
        let io: &'static ScheduledIo = Box::leak(Box::default());
        let newcomers = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..100)
            .map(|_| Requeue::start(io, Some(newcomers.clone())))
            .collect();
        io.set_readiness(1, Readiness::READABLE);
        for (i, waiter) in waiters.iter().enumerate() {
            let wakes = waiter.wakes.load(Ordering::SeqCst);
            assert_eq!(wakes, 1, "waiter {i} was woken {wakes} times by one wake");
        }
        let newcomers = std::mem::take(&mut *newcomers.lock());
        assert_eq!(newcomers.len(), 100);
        for (i, newcomer) in newcomers.iter().enumerate() {
            let wakes = newcomer.wakes.load(Ordering::SeqCst);
            assert_eq!(
                wakes, 0,
                "newcomer {i}, registered during the wake, was woken"
            );
        }
    }

    #[test]
    fn shutdown_fails_every_wait() {
        let io = ScheduledIo::default();
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(io.readiness(Direction::Write));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        io.shutdown();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Read),
            Poll::Ready(Err(_))
        ));
    }
}
