//! The cooperative budget: how many operations one task poll may complete before the
//! resources it uses start answering `Pending`, so an always-ready source (a socket a
//! peer keeps full, an elapsed timer, a CPU loop) cannot keep its task, and with it the
//! other tasks and the event loop, from running.
//!
//! # Contract
//!
//! - One thread-local counter. [`budget`] sets it to [`INITIAL`] for one task poll (the
//!   task harness and `block_on` call it) and restores the previous value afterwards, also
//!   on unwind, so nested runtimes each get their own. Outside it (no runtime, a foreign
//!   executor, thread-local teardown) the counter is unconstrained and nothing ever yields.
//! - A resource calls [`poll_proceed`] once per operation, before it looks for readiness.
//!   With budget left it takes one unit and returns a [`RestoreOnPending`] guard; with
//!   none it wakes the task (marked as a yield, so a scheduler puts it behind the others)
//!   and returns `Pending`.
//! - Only progress costs budget: the guard gives the unit back when dropped, unless
//!   [`RestoreOnPending::made_progress`] was called because the operation completed.
//!
//! Charged today: `AsyncFd` readiness and I/O (so every `net` type), `Sleep` (so
//! `Interval`), `JoinHandle`, [`consume_budget`], and any future wrapped in
//! [`cooperative`]. `Timeout` polls its deadline
//! unconstrained when its own future spent the budget, so it still fires.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::yield_now;

/// Operations per task poll (tokio's number).
const INITIAL: u8 = 128;

thread_local! {
    /// The running poll's budget. Const-initialised and without destructor: readable at
    /// any time, `try_with` only fails on platforms without such thread locals.
    static BUDGET: Cell<Budget> = const { Cell::new(Budget::UNCONSTRAINED) };
}

/// What is left of the current poll's budget; `None` is unconstrained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget(Option<u8>);

impl Budget {
    const UNCONSTRAINED: Budget = Budget(None);

    /// Takes one unit; `false` if there was none to take.
    fn take(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }

    /// Gives one unit back.
    fn give_back(&mut self) {
        if let Some(n) = &mut self.0 {
            *n = n.saturating_add(1).min(INITIAL);
        }
    }
}

/// Runs `poll` (one poll of a task or a `block_on` future) with a fresh budget.
pub(crate) fn budget<R>(poll: impl FnOnce() -> R) -> R {
    with_budget(Budget(Some(INITIAL)), poll)
}

/// Runs `f` without a budget: nothing inside it yields for lack of one.
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::UNCONSTRAINED, f)
}

/// Whether an operation polled now could proceed (unconstrained counts as yes).
pub(crate) fn has_budget_remaining() -> bool {
    BUDGET
        .try_with(|cell| cell.get().0 != Some(0))
        .unwrap_or(true)
}

fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Budget>);

    impl Drop for Reset {
        fn drop(&mut self) {
            if let Some(previous) = self.0 {
                let _ = BUDGET.try_with(|cell| cell.set(previous));
            }
        }
    }

    let _reset = Reset(BUDGET.try_with(|cell| cell.replace(budget)).ok());
    f()
}

/// Takes one unit of budget for an operation about to be polled; with none left, wakes
/// the task (as a yield) and returns `Pending`. See the module docs.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let taken = BUDGET.try_with(|cell| {
        let mut budget = cell.get();
        let took = budget.take();
        cell.set(budget);
        (took, budget != Budget::UNCONSTRAINED)
    });
    match taken {
        Ok((true, constrained)) => Poll::Ready(RestoreOnPending(Cell::new(constrained))),
        Ok((false, _)) => {
            yield_now::mark_yielded();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Err(_) => Poll::Ready(RestoreOnPending(Cell::new(false))),
    }
}

/// One unit of budget, given back on drop unless the operation made progress.
#[derive(Debug)]
#[must_use = "dropping it at once gives the unit back; call made_progress() on success"]
pub(crate) struct RestoreOnPending(Cell<bool>);

impl RestoreOnPending {
    /// The operation completed: the unit stays spent.
    pub(crate) fn made_progress(&self) {
        self.0.set(false);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if self.0.get() {
            let _ = BUDGET.try_with(|cell| {
                let mut budget = cell.get();
                budget.give_back();
                cell.set(budget);
            });
        }
    }
}

/// Takes one unit of the task's cooperative budget, yielding to the runtime first if it
/// is spent.
///
/// Each time the runtime polls a task it gives it a budget of operations; socket reads
/// and writes, timers and `JoinHandle`s each take one when they complete, and once it is
/// spent they return `Pending` until the task has been polled anew, so one busy task
/// cannot starve the others or the event loop. A loop that does its own work, or awaits
/// futures that know nothing of the budget (a channel from another crate, say), can call
/// this to take part: it costs nothing while budget is left, and only every so often
/// yields like [`yield_now()`]. Outside a runtime it never yields.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let sum = runtime::spawn(async {
///     let mut sum = 0u64;
///     for i in 0..100_000u64 {
///         sum += i;
///         runtime::task::consume_budget().await; // other tasks run now and then
///     }
///     sum
/// });
/// assert_eq!(sum.await.unwrap(), 4_999_950_000);
/// # });
/// ```
pub async fn consume_budget() {
    let mut done = false;
    poll_fn(|cx| {
        if done {
            return Poll::Ready(());
        }
        let restore = std::task::ready!(poll_proceed(cx));
        restore.made_progress();
        done = true;
        Poll::Ready(())
    })
    .await;
}

/// Makes `future` take part in the cooperative budget: each time it completes it takes a
/// unit, and once the budget is spent it answers `Pending` (waking its task) before it is
/// even polled, until the task has been polled anew.
///
/// For futures that know nothing of the budget and are ready again and again, such as
/// the receiving end of another crate's channel whose producer stays ahead: a loop over
/// `cooperative(rx.next())` lets the other tasks, I/O and timers run now and then instead
/// of starving them.
///
/// # Examples
///
/// ```
/// use std::future::ready;
/// use runtime::task::cooperative;
///
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut total = 0;
/// for i in 0..1_000 {
///     total += cooperative(ready(i)).await; // yields every 128 completions
/// }
/// assert_eq!(total, 499_500);
/// # });
/// ```
pub fn cooperative<F: Future>(future: F) -> Cooperative<F> {
    Cooperative { future }
}

/// The future returned by [`cooperative`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Cooperative<F> {
    future: F,
}

impl<F: Future> Future for Cooperative<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let restore = std::task::ready!(poll_proceed(cx));
        // SAFETY: `future` is structurally pinned: `Cooperative` never moves it out while
        // pinned, has no `Drop` impl, and is `Unpin` only if `F` is (auto trait).
        let future = unsafe { self.map_unchecked_mut(|c| &mut c.future) };
        let output = std::task::ready!(future.poll(cx));
        restore.made_progress();
        Poll::Ready(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    /// Takes a unit and keeps it spent, as a completed operation does.
    fn spend(cx: &mut Context<'_>) -> Poll<()> {
        poll_proceed(cx).map(|restore| restore.made_progress())
    }

    // Proves that a poll gets exactly INITIAL operations: the next one is Pending and
    // wakes the task (as a yield), and the next poll's budget is fresh.
    #[test]
    fn budget_runs_out_after_initial_operations_and_wakes_the_task() {
        let (counter, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let (spent, yielded) = yield_now::track(|| {
            budget(|| {
                for _ in 0..INITIAL {
                    assert!(spend(&mut cx).is_ready());
                }
                assert_eq!(counter.0.load(Ordering::SeqCst), 0);
                assert!(!has_budget_remaining());
                spend(&mut cx)
            })
        });
        assert!(spent.is_pending() && yielded);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(budget(|| spend(&mut cx)).is_ready());
    }

    // Proves that an operation that turns out Pending gives its unit back, and one that
    // made progress does not.
    #[test]
    fn unit_comes_back_unless_progress_was_made() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..u16::from(INITIAL) * 2 {
                let restore = poll_proceed(&mut cx);
                assert!(restore.is_ready(), "a pending operation cost budget");
            }
            for _ in 0..INITIAL {
                assert!(spend(&mut cx).is_ready());
            }
            assert!(poll_proceed(&mut cx).is_pending());
        });
    }

    // Proves that outside any budget (no runtime, a foreign executor) nothing runs out.
    #[test]
    fn unconstrained_outside_a_task() {
        let (counter, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..u16::from(INITIAL) * 4 {
            assert!(spend(&mut cx).is_ready());
        }
        assert!(has_budget_remaining());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    }

    // Proves that a nested budget (a runtime's block_on inside a task) and an
    // unconstrained section restore the outer budget when they end.
    #[test]
    fn nested_budget_restores_the_outer_one() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..INITIAL - 1 {
                assert!(spend(&mut cx).is_ready());
            }
            budget(|| {
                for _ in 0..INITIAL {
                    assert!(spend(&mut cx).is_ready());
                }
                assert!(!has_budget_remaining());
            });
            unconstrained(|| assert!(spend(&mut cx).is_ready()));
            assert!(
                spend(&mut cx).is_ready(),
                "the outer poll had one unit left"
            );
            assert!(spend(&mut cx).is_pending());
        });
        assert!(has_budget_remaining(), "unconstrained again after the poll");
    }

    // Proves that consume_budget is free while budget is left, then Pending exactly once
    // (with a wake), and completes on the next poll.
    #[test]
    fn consume_budget_yields_once_when_spent() {
        let (counter, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(consume_budget());
        budget(|| {
            for _ in 0..INITIAL {
                assert!(pin!(consume_budget()).poll(&mut cx).is_ready());
            }
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        });
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(budget(|| fut.as_mut().poll(&mut cx)).is_ready());
    }

    // Proves that a future wrapped in `cooperative` takes a unit each time it completes,
    // so a loop over an always-ready foreign future yields after INITIAL completions, and
    // that a pending inner future costs nothing.
    #[test]
    fn cooperative_charges_each_completion_and_nothing_for_pending() {
        let (counter, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            for _ in 0..u16::from(INITIAL) * 2 {
                let mut pending = pin!(cooperative(std::future::pending::<()>()));
                assert!(pending.as_mut().poll(&mut cx).is_pending());
            }
            for i in 0..INITIAL {
                let mut ready = pin!(cooperative(std::future::ready(i)));
                assert_eq!(ready.as_mut().poll(&mut cx), Poll::Ready(i));
            }
            let mut ready = pin!(cooperative(std::future::ready(())));
            assert!(ready.as_mut().poll(&mut cx).is_pending(), "spent: yields");
        });
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken to run again");
    }
}
