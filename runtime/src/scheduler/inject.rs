//! The inject queue: where tasks scheduled from outside a runtime's own threads go.
//!
//! A mutex-protected FIFO with a lock-free length, so the hot "is there anything?" check
//! takes no lock, and a closed state: once [`Inject::close`] returns, every push is refused
//! and hands its item back. The caller drops a refused task outside the lock, which
//! releases a task that shutdown has already cancelled; nothing can sit in the queue after
//! the scheduler's last drain, so no task (and through it the scheduler) is leaked.
//!
//! Items are never dropped under the lock: dropping a task may free it, and with it the
//! scheduler that owns this queue.

use std::collections::VecDeque;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

/// A closable FIFO shared by every thread of one scheduler.
pub(crate) struct Inject<T> {
    queue: Mutex<Queue<T>>,
    /// Mirrors `queue.items.len()`; written under the lock, read without it.
    len: AtomicUsize,
}

struct Queue<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> Inject<T> {
    pub(crate) fn new() -> Inject<T> {
        Inject {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Appends `item`, or gives it back if the queue is closed.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        let mut queue = self.queue.lock();
        if queue.closed {
            return Err(item);
        }
        queue.items.push_back(item);
        self.len.store(queue.items.len(), Ordering::SeqCst);
        Ok(())
    }

    /// Takes the oldest item.
    pub(crate) fn pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut queue = self.queue.lock();
        let item = queue.items.pop_front();
        self.len.store(queue.items.len(), Ordering::SeqCst);
        item
    }

    /// Takes up to `n` of the oldest items, handing each to `f` under the lock (`f` must
    /// not run task code). Returns how many were taken.
    pub(crate) fn pop_n(&self, n: usize, mut f: impl FnMut(T)) -> usize {
        if self.is_empty() || n == 0 {
            return 0;
        }
        let mut queue = self.queue.lock();
        let n = n.min(queue.items.len());
        for item in queue.items.drain(..n) {
            f(item);
        }
        self.len.store(queue.items.len(), Ordering::SeqCst);
        n
    }

    /// Refuses every later push. Returns `true` for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        let mut queue = self.queue.lock();
        !std::mem::replace(&mut queue.closed, true)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }

    /// Takes everything queued (at shutdown, after `close`), to be dropped by the caller.
    pub(crate) fn take_all(&self) -> VecDeque<T> {
        let mut queue = self.queue.lock();
        self.len.store(0, Ordering::SeqCst);
        std::mem::take(&mut queue.items)
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> std::fmt::Debug for Inject<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inject")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_closed_queue_hands_pushes_back() {
        let inject = Inject::new();
        inject.push(1).unwrap();
        assert!(inject.close());
        assert!(!inject.close(), "only the first close reports it");
        assert_eq!(inject.push(2), Err(2));
        assert_eq!(inject.take_all(), [1]);
        assert!(inject.is_empty());
    }

    #[test]
    fn pop_n_takes_the_oldest_in_order() {
        let inject = Inject::new();
        for i in 0..10 {
            inject.push(i).unwrap();
        }
        let mut taken = Vec::new();
        assert_eq!(inject.pop_n(4, |i| taken.push(i)), 4);
        assert_eq!(taken, [0, 1, 2, 3]);
        assert_eq!(inject.pop(), Some(4));
        assert_eq!(inject.len(), 5);
    }
}
