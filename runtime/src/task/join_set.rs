//! `JoinSet`: a collection of spawned tasks, joined in the order they finish.
//!
//! # Ready list
//!
//! The set keeps its `JoinHandle`s in a `Slab`, keyed by index, and shares one
//! [`ReadyList`] with every entry: a queue of keys whose handle is worth polling, plus
//! the waker of whoever last found the queue empty. Each entry owns a small waker of its
//! own (the list and its key); that waker is what the entry's `JoinHandle` is polled
//! with, so it becomes the task's join waker, and when the task completes the runtime
//! wakes it: the key is pushed and the set's waker woken.
//!
//! A new entry's handle is polled once at insertion, with the entry's waker: that
//! registers it as the task's join waker, so the ready list receives keys in the order
//! the tasks complete. A task that already finished by then has its result kept in the
//! entry and its key queued at once. After that an entry is polled only when its task
//! completes. `join_next` pops keys and polls just those handles: O(1) per finished
//! task, never O(live tasks) per call.
//!
//! # Bounded memory
//!
//! A finished entry is removed from the slab as its result is returned, and the slab
//! reuses vacant slots, so its capacity is the most tasks ever live at once, not the
//! number ever spawned. A key is queued once per entry (at insertion if already
//! finished, else by the completion wake), so the ready list is bounded by the same
//! number. A key whose entry is gone is skipped, and one whose slot was reused costs a
//! poll of a pending handle, which only re-registers the same waker.
//!
//! Polls of the handles run without a cooperative budget; `poll_join_next` charges one
//! unit itself, so a set of always-finished tasks still yields to the scheduler.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker, ready};

use parking_lot::Mutex;
use slab::Slab;

use super::{AbortHandle, Id, JoinError, JoinHandle, coop};

/// A set of tasks spawned on the current runtime, awaited in completion order.
///
/// Spawn with [`spawn`](JoinSet::spawn) (or [`spawn_local`](JoinSet::spawn_local),
/// [`spawn_blocking`](JoinSet::spawn_blocking)) and collect results with
/// [`join_next`](JoinSet::join_next). Every task's output has type `T`. Dropping the
/// set aborts every task still in it; [`shutdown`](JoinSet::shutdown) aborts them and
/// waits until each has finished.
///
/// Memory is bounded by the number of tasks in the set, not by how many it ever held:
/// a set that runs a million short jobs, joining as it goes, stays small.
///
/// # Examples
///
/// ```
/// use runtime::task::JoinSet;
///
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut set = JoinSet::new();
/// for i in 0..10 {
///     set.spawn(async move { i * 2 });
/// }
/// let mut sum = 0;
/// while let Some(result) = set.join_next().await {
///     sum += result.unwrap();
/// }
/// assert_eq!(sum, 90);
/// # });
/// ```
pub struct JoinSet<T> {
    entries: Slab<Entry<T>>,
    ready: Arc<ReadyList>,
}

/// One task in the set.
struct Entry<T> {
    handle: JoinHandle<T>,
    /// The entry's own waker (an [`EntryWaker`]); the handle is only ever polled with it.
    waker: Waker,
    /// The result, if the task had finished when it was inserted (boxed: rare, and it
    /// keeps every slot small).
    early: Option<Box<Result<T, JoinError>>>,
}

/// Keys of entries worth polling, and the waker of the set's last empty-handed poll.
#[derive(Default)]
struct ReadyList(Mutex<Ready>);

#[derive(Default)]
struct Ready {
    keys: VecDeque<usize>,
    waker: Option<Waker>,
}

/// An entry's join waker: pushes its key and wakes the set.
struct EntryWaker {
    ready: Arc<ReadyList>,
    key: usize,
}

impl ReadyList {
    /// Queues `key` and returns the set's waker to wake (outside the lock).
    fn push(&self, key: usize) -> Option<Waker> {
        let mut ready = self.0.lock();
        ready.keys.push_back(key);
        ready.waker.take()
    }

    /// Pops the next key; if there is none, stores `waker` (when given) to be woken by
    /// the next push. Both under one lock, so a push cannot slip in between.
    fn pop_or_register(&self, waker: Option<&Waker>) -> Option<usize> {
        let mut ready = self.0.lock();
        let key = ready.keys.pop_front();
        if let (None, Some(waker)) = (key, waker) {
            match &mut ready.waker {
                Some(stored) if stored.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
        key
    }
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(waker) = self.ready.push(self.key) {
            waker.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            ready: Arc::default(),
        }
    }

    /// How many tasks are in the set: spawned and not yet returned by a join.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set holds no tasks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Spawns `task` on the current runtime and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](crate::spawn) does.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(super::spawn(task))
    }

    /// Spawns a `!Send` `task` on the current [`LocalRuntime`](crate::LocalRuntime)
    /// and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a `LocalRuntime`, as [`spawn_local`](super::spawn_local) does.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(super::spawn_local(task))
    }

    /// Runs `f` on the blocking pool and adds it to the set. Aborting it has no effect
    /// once it has started, as for [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }

    /// Adds a spawned task's handle and polls it once, registering the entry's waker.
    fn insert(&mut self, mut handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.entries.vacant_entry();
        let key = slot.key();
        let waker = Waker::from(Arc::new(EntryWaker {
            ready: Arc::clone(&self.ready),
            key,
        }));
        let polled =
            coop::unconstrained(|| Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)));
        let early = match polled {
            Poll::Ready(result) => Some(Box::new(result)),
            Poll::Pending => None,
        };
        let finished = early.is_some();
        slot.insert(Entry {
            handle,
            waker,
            early,
        });
        if finished {
            // Joins take `&mut self`, so nobody is waiting on the set: no wake needed.
            drop(self.ready.push(key));
        }
        abort
    }

    /// Waits for the next task to finish and returns its result, or `None` if the set
    /// is empty. Cancel-safe: if the future is dropped, no result is lost.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), with the finished task's id.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// Returns the result of a task that has already finished, without waiting; `None`
    /// if none has (or the set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        coop::unconstrained(|| self.pop_finished(None)).map(|(_, result)| result)
    }

    /// Polls for the next finished task: `Ready(None)` if the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|result| result.map(|(_, output)| output)))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the finished task's id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.is_empty() {
            return Poll::Ready(None);
        }
        let coop = ready!(coop::poll_proceed(cx));
        match coop::unconstrained(|| self.pop_finished(Some(cx.waker()))) {
            Some((id, result)) => {
                coop.made_progress();
                Poll::Ready(Some(result.map(|output| (id, output))))
            }
            None => Poll::Pending,
        }
    }

    /// Polls the entries on the ready list until one has finished; removes and returns
    /// it. With the list empty, registers `waker` and returns `None`.
    fn pop_finished(&mut self, waker: Option<&Waker>) -> Option<(Id, Result<T, JoinError>)> {
        while let Some(key) = self.ready.pop_or_register(waker) {
            let Some(entry) = self.entries.get_mut(key) else {
                continue; // stale: the entry was already joined
            };
            if let Some(result) = entry.early.take() {
                let entry = self.entries.remove(key);
                return Some((entry.handle.id(), *result));
            }
            let mut cx = Context::from_waker(&entry.waker);
            if let Poll::Ready(result) = Pin::new(&mut entry.handle).poll(&mut cx) {
                let entry = self.entries.remove(key);
                return Some((entry.handle.id(), result));
            }
        }
        None
    }

    /// Aborts every task in the set. They stay in it: each is then joined as
    /// cancelled (or with its result, if it finished first).
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.entries {
            entry.handle.abort();
        }
    }

    /// Aborts every task and waits until each has finished; the set is then empty.
    /// The results (outputs of tasks that finished first, cancellations) are dropped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// The slab's capacity, for the bounded-memory test.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.entries.capacity()
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

/// Aborts the tasks still in the set; their handles are then dropped (detached), and
/// each runtime drops its future.
impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    #[test]
    fn ready_list_wakes_the_set_only_after_it_found_the_list_empty() {
        let list = ReadyList::default();
        assert!(list.push(3).is_none(), "nobody waits yet");
        assert_eq!(list.pop_or_register(Some(Waker::noop())), Some(3));
        assert_eq!(list.pop_or_register(Some(Waker::noop())), None);
        assert!(list.push(4).is_some());
        assert!(
            list.push(5).is_none(),
            "the waker is taken by the first push"
        );
        assert_eq!(list.pop_or_register(None), Some(4));
    }

    #[test]
    #[cfg_attr(miri, ignore = "opens an epoll instance")]
    fn a_million_short_jobs_keep_the_slab_small() {
        // Proves: joined entries leave the slab and their slots are reused, so its
        // capacity follows the live tasks (one batch), not the tasks ever spawned.
        let total = if cfg!(debug_assertions) {
            200_000
        } else {
            1_000_000
        };
        let rt = Builder::new_current_thread().build().unwrap();
        let (joined, capacity) = rt.block_on(async move {
            let mut set = JoinSet::new();
            let (mut joined, mut capacity) = (0_usize, 0);
            for batch in 0..total / 1_000 {
                for i in 0..1_000 {
                    set.spawn(async move { batch * 1_000 + i });
                }
                capacity = capacity.max(set.capacity());
                while set.len() > 500 {
                    set.join_next().await.unwrap().unwrap();
                    joined += 1;
                }
            }
            while let Some(result) = set.join_next().await {
                result.unwrap();
                joined += 1;
            }
            capacity = capacity.max(set.capacity());
            let backlog = set.ready.0.lock().keys.capacity();
            (joined, capacity.max(backlog))
        });
        assert_eq!(joined, total);
        assert!(capacity < 10_000, "capacity grew to {capacity}");
    }
}
