//! The task state word: lifecycle flags and the reference count in one `AtomicUsize`.
//!
//! # Bits
//!
//! | bits | const | meaning while set |
//! |---|---|---|
//! | 0 | [`RUNNING`] | one thread polls or cancels the task and owns its stage |
//! | 1 | [`COMPLETE`] | the stage holds the result (or was consumed); never cleared |
//! | 2 | [`NOTIFIED`] | a `Notified` exists, or the runner must reschedule after its poll |
//! | 3 | [`CANCELLED`] | the next runner drops the future instead of polling it |
//! | 4 | [`JOIN_INTEREST`] | the `JoinHandle` is alive and will take or drop the result |
//! | 5 | [`JOIN_WAKER`] | the join waker cell is published to the runner (read-only for all) |
//! | 6.. | [`REF_ONE`] | reference count: `Task`, `Notified`, `JoinHandle`, `AbortHandle`, each `Waker`, a runner |
//!
//! Every transition is one compare-and-swap (or one `fetch_*`) that returns a
//! `#[must_use]` value naming the caller's next step. The rules the bits enforce
//! are in the protocol section of `task/mod.rs`.

use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::fmt;

/// Set while one thread polls (or cancels) the task. That thread owns the stage.
pub(super) const RUNNING: usize = 1 << 0;

/// Set once the task has finished. The stage then holds the result until the
/// `JoinHandle` (or, without one, the runner) consumes it. Never cleared.
pub(super) const COMPLETE: usize = 1 << 1;

/// Set while a `Notified` for the task exists (it sits in a run queue), or, while
/// `RUNNING`, to ask the runner to reschedule the task after the poll.
pub(super) const NOTIFIED: usize = 1 << 2;

/// Set by `abort` or shutdown: the next runner drops the future instead of polling.
pub(super) const CANCELLED: usize = 1 << 3;

/// Set while the `JoinHandle` is alive. With `COMPLETE`, the handle owns the result.
pub(super) const JOIN_INTEREST: usize = 1 << 4;

/// Set while the join waker cell holds a waker published to the runner. While set,
/// nobody writes the cell; while clear and not `COMPLETE`, only the `JoinHandle` does.
pub(super) const JOIN_WAKER: usize = 1 << 5;

/// Position of the reference count.
const REF_SHIFT: u32 = 6;

/// One reference in the count held in the high bits.
pub(super) const REF_ONE: usize = 1 << REF_SHIFT;

/// All flag bits.
#[cfg(test)]
const FLAG_MASK: usize = REF_ONE - 1;

/// A fresh task: three references (the registry's `Task`, the first `Notified`,
/// the `JoinHandle`), already notified, with join interest.
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

/// The atomic state word of one task.
pub(super) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Snapshot(usize);

/// What `Notified::run` does next.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToRunning {
    /// `RUNNING` is ours: poll the future.
    Success,
    /// `RUNNING` is ours but the task is cancelled: drop the future, then complete.
    Cancelled,
    /// Someone else runs it or it finished; our reference was dropped.
    Failed,
    /// As `Failed`, and ours was the last reference: deallocate.
    Dealloc,
}

/// What the runner does after a poll returned `Pending`.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToIdle {
    /// Idle; the runner's reference was dropped.
    Ok,
    /// Woken during the poll: a new reference was counted for a new `Notified`;
    /// schedule it, then drop the runner's reference.
    OkNotified,
    /// Idle, and the runner's reference was the last: deallocate.
    OkDealloc,
    /// Cancelled during the poll: still `RUNNING`; drop the future, then complete.
    Cancelled,
}

/// What a waker consumed by `wake` does next.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToNotifiedByVal {
    /// Nothing to schedule; the waker's reference was dropped.
    DoNothing,
    /// A new reference was counted: schedule a `Notified` with it, then drop the
    /// waker's reference (kept so the task outlives the `schedule` call).
    Submit,
    /// Nothing to schedule, and the waker's reference was the last: deallocate.
    Dealloc,
}

/// What `wake_by_ref` (or `abort`) does next.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToNotifiedByRef {
    /// Already notified, running, or complete: nothing to schedule.
    DoNothing,
    /// A new reference was counted: schedule a `Notified` with it.
    Submit,
}

/// What shutdown does with the registry's reference.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToShutdown {
    /// The task was idle; `RUNNING` is now ours: drop the future, then complete.
    Cancel,
    /// Running elsewhere (its runner cancels it after the poll) or complete:
    /// just drop the reference.
    DropReference,
}

/// Who deals with the result once `COMPLETE` is set.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransitionToComplete {
    /// The `JoinHandle` is gone: the runner drops the result.
    DropOutput,
    /// The `JoinHandle` registered a waker: wake it, then `unset_waker_after_complete`.
    WakeJoinHandle,
    /// The `JoinHandle` is alive but not waiting: nothing to do.
    Nothing,
}

/// Who drops the join waker after the runner woke it.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UnsetWakerAfterComplete {
    /// The `JoinHandle` was dropped meanwhile: the runner drops the waker.
    DropWaker,
    /// The `JoinHandle` is alive and now owns the cell again.
    LeaveToJoinHandle,
}

/// What the `JoinHandle` must clean up when it is dropped.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TransitionToJoinHandleDropped {
    /// The task is complete: the handle owns the result and drops it.
    pub(super) drop_output: bool,
    /// `JOIN_WAKER` is clear: the handle owns the waker cell and empties it.
    pub(super) drop_waker: bool,
}

/// Outcome of publishing or withdrawing the join waker.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JoinWakerUpdate {
    /// The bit changed.
    Done,
    /// The task completed first; the bit was left alone and the result is ready.
    Completed,
}

/// Whether a reference drop left the task alive.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefDec {
    /// Other references remain.
    Alive,
    /// That was the last reference: deallocate.
    Dealloc,
}

impl State {
    /// The state of a freshly allocated task (see `INITIAL`).
    pub(super) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    /// Reads the current state.
    pub(super) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Applies `f` in a compare-and-swap loop. `f` returns the action and the new
    /// state, or `None` to leave the word untouched.
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (action, next) = f(curr);
            let Some(next) = next else { return action };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return action,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called by `Notified::run`, which gives its reference to the runner.
    pub(super) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|mut s| {
            if !s.is_idle() {
                s.ref_dec();
                let action = if s.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(s));
            }
            s.0 = (s.0 | RUNNING) & !NOTIFIED;
            let action = if s.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(s))
        })
    }

    /// Called by the runner after a poll returned `Pending`.
    pub(super) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|mut s| {
            debug_assert!(s.is_running(), "transition_to_idle without RUNNING");
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            s.0 &= !RUNNING;
            if s.is_notified() {
                s.ref_inc();
                return (TransitionToIdle::OkNotified, Some(s));
            }
            s.ref_dec();
            let action = if s.ref_count() == 0 {
                TransitionToIdle::OkDealloc
            } else {
                TransitionToIdle::Ok
            };
            (action, Some(s))
        })
    }

    /// Called by the runner when the task finished (after storing the result).
    /// Clears `RUNNING`, sets `COMPLETE`, and says who handles the result.
    pub(super) fn transition_to_complete(&self) -> TransitionToComplete {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        if !prev.is_join_interested() {
            TransitionToComplete::DropOutput
        } else if prev.is_join_waker_set() {
            TransitionToComplete::WakeJoinHandle
        } else {
            TransitionToComplete::Nothing
        }
    }

    /// Called by `Waker::wake`, which gives up its reference.
    pub(super) fn transition_to_notified_by_val(&self) -> TransitionToNotifiedByVal {
        self.update(|mut s| {
            if s.is_running() {
                s.0 |= NOTIFIED;
                s.ref_dec();
                debug_assert!(s.ref_count() > 0, "the runner holds a reference");
                return (TransitionToNotifiedByVal::DoNothing, Some(s));
            }
            if s.is_complete() || s.is_notified() {
                s.ref_dec();
                let action = if s.ref_count() == 0 {
                    TransitionToNotifiedByVal::Dealloc
                } else {
                    TransitionToNotifiedByVal::DoNothing
                };
                return (action, Some(s));
            }
            s.0 |= NOTIFIED;
            s.ref_inc();
            (TransitionToNotifiedByVal::Submit, Some(s))
        })
    }

    /// Called by `Waker::wake_by_ref`; the caller keeps its reference.
    pub(super) fn transition_to_notified_by_ref(&self) -> TransitionToNotifiedByRef {
        self.update(|mut s| {
            if s.is_complete() || s.is_notified() {
                return (TransitionToNotifiedByRef::DoNothing, None);
            }
            s.0 |= NOTIFIED;
            if s.is_running() {
                return (TransitionToNotifiedByRef::DoNothing, Some(s));
            }
            s.ref_inc();
            (TransitionToNotifiedByRef::Submit, Some(s))
        })
    }

    /// Called by `JoinHandle::abort`: marks the task cancelled and, if it is idle
    /// and not queued, asks for one `Notified` so a runner drops the future.
    pub(super) fn transition_to_notified_and_cancel(&self) -> TransitionToNotifiedByRef {
        self.update(|mut s| {
            if s.is_complete() || s.is_cancelled() {
                return (TransitionToNotifiedByRef::DoNothing, None);
            }
            s.0 |= CANCELLED;
            if s.is_running() || s.is_notified() {
                // The runner (after its poll) or the queued `Notified` sees CANCELLED.
                s.0 |= NOTIFIED;
                return (TransitionToNotifiedByRef::DoNothing, Some(s));
            }
            s.0 |= NOTIFIED;
            s.ref_inc();
            (TransitionToNotifiedByRef::Submit, Some(s))
        })
    }

    /// Called by the registry's shutdown with its reference.
    pub(super) fn transition_to_shutdown(&self) -> TransitionToShutdown {
        self.update(|mut s| {
            if s.is_complete() {
                return (TransitionToShutdown::DropReference, None);
            }
            let was_idle = s.is_idle();
            s.0 |= CANCELLED;
            if was_idle {
                s.0 |= RUNNING;
                return (TransitionToShutdown::Cancel, Some(s));
            }
            (TransitionToShutdown::DropReference, Some(s))
        })
    }

    /// Called by the `JoinHandle` before it writes a new waker: withdraws the
    /// published one so the handle owns the cell again.
    pub(super) fn unset_join_waker(&self) -> JoinWakerUpdate {
        self.update(|mut s| {
            // Checked first: after completing, the runner clears `JOIN_WAKER`.
            if s.is_complete() {
                return (JoinWakerUpdate::Completed, None);
            }
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            s.0 &= !JOIN_WAKER;
            (JoinWakerUpdate::Done, Some(s))
        })
    }

    /// Called by the `JoinHandle` after it wrote the waker cell: publishes it.
    pub(super) fn set_join_waker(&self) -> JoinWakerUpdate {
        self.update(|mut s| {
            if s.is_complete() {
                return (JoinWakerUpdate::Completed, None);
            }
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            s.0 |= JOIN_WAKER;
            (JoinWakerUpdate::Done, Some(s))
        })
    }

    /// Called by the runner after it woke the join waker following completion.
    pub(super) fn unset_waker_after_complete(&self) -> UnsetWakerAfterComplete {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        if prev.is_join_interested() {
            UnsetWakerAfterComplete::LeaveToJoinHandle
        } else {
            UnsetWakerAfterComplete::DropWaker
        }
    }

    /// Called when the `JoinHandle` is dropped, before it drops its reference.
    pub(super) fn transition_to_join_handle_dropped(&self) -> TransitionToJoinHandleDropped {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested());
            s.0 &= !JOIN_INTEREST;
            if !s.is_complete() {
                // Withdraw the waker so the runner never touches the cell again.
                s.0 &= !JOIN_WAKER;
            }
            let action = TransitionToJoinHandleDropped {
                drop_output: s.is_complete(),
                drop_waker: !s.is_join_waker_set(),
            };
            (action, Some(s))
        })
    }

    /// Adds a reference (a cloned waker, a new `Notified`, an `AbortHandle`).
    pub(super) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // Like `Arc`: wrapping the count would free a live task. Billions of
        // leaked wakers are the only way here, so abort rather than unwind.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops one reference.
    pub(super) fn ref_dec(&self) -> RefDec {
        self.ref_dec_by(1)
    }

    /// Drops `count` references at once (the runner's, plus the registry's when
    /// `release` handed it back).
    pub(super) fn ref_dec_by(&self, count: usize) -> RefDec {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count, "reference count underflow");
        if prev.ref_count() == count {
            RefDec::Dealloc
        } else {
            RefDec::Alive
        }
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

impl Snapshot {
    /// Neither running nor complete.
    pub(super) fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }

    /// `RUNNING` is set.
    pub(super) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }

    /// `COMPLETE` is set.
    pub(super) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }

    /// `NOTIFIED` is set.
    pub(super) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }

    /// `CANCELLED` is set.
    pub(super) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }

    /// `JOIN_INTEREST` is set.
    pub(super) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }

    /// `JOIN_WAKER` is set.
    pub(super) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }

    /// Number of live references.
    pub(super) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }

    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }

    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state word with exactly these bits and references.
    fn state(flags: usize, refs: usize) -> State {
        State {
            val: AtomicUsize::new(flags | (refs * REF_ONE)),
        }
    }

    /// Flags and reference count of a state word.
    fn bits(s: &State) -> (usize, usize) {
        let snap = s.load();
        (snap.0 & FLAG_MASK, snap.ref_count())
    }

    #[test]
    fn new_task_is_notified_with_join_interest_and_three_refs() {
        assert_eq!(bits(&State::new()), (NOTIFIED | JOIN_INTEREST, 3));
    }

    #[test]
    fn flag_bits_are_distinct_and_below_the_count() {
        let flags = [
            RUNNING,
            COMPLETE,
            NOTIFIED,
            CANCELLED,
            JOIN_INTEREST,
            JOIN_WAKER,
        ];
        assert_eq!(flags.iter().fold(0, |acc, f| acc | f), FLAG_MASK);
        assert_eq!(flags.iter().map(|f| f.count_ones()).sum::<u32>(), REF_SHIFT);
    }

    #[test]
    fn running_from_notified_clears_notified_and_keeps_refs() {
        let s = state(NOTIFIED | JOIN_INTEREST, 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(bits(&s), (RUNNING | JOIN_INTEREST, 3));
    }

    #[test]
    fn running_a_cancelled_task_takes_running_and_reports_cancelled() {
        let s = state(NOTIFIED | CANCELLED, 2);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
        assert_eq!(bits(&s), (RUNNING | CANCELLED, 2));
    }

    #[test]
    fn running_fails_while_running_or_complete_and_drops_the_ref() {
        let s = state(RUNNING | NOTIFIED, 2);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Failed);
        assert_eq!(bits(&s), (RUNNING | NOTIFIED, 1));
        let s = state(COMPLETE, 1);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Dealloc);
        assert_eq!(bits(&s), (COMPLETE, 0));
    }

    #[test]
    fn idle_without_wake_drops_the_runner_ref() {
        let s = state(RUNNING | JOIN_INTEREST, 2);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(bits(&s), (JOIN_INTEREST, 1));
        let s = state(RUNNING, 1);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkDealloc);
        assert_eq!(bits(&s), (0, 0));
    }

    #[test]
    fn idle_after_wake_during_poll_counts_a_ref_for_the_new_notified() {
        let s = state(RUNNING | NOTIFIED, 2);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(bits(&s), (NOTIFIED, 3));
    }

    #[test]
    fn idle_after_cancel_during_poll_keeps_running() {
        let s = state(RUNNING | CANCELLED | NOTIFIED, 2);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        assert_eq!(bits(&s), (RUNNING | CANCELLED | NOTIFIED, 2));
    }

    #[test]
    fn complete_swaps_running_for_complete_and_names_the_result_owner() {
        let s = state(RUNNING, 1);
        assert_eq!(s.transition_to_complete(), TransitionToComplete::DropOutput);
        assert_eq!(bits(&s), (COMPLETE, 1));
        let s = state(RUNNING | JOIN_INTEREST, 2);
        assert_eq!(s.transition_to_complete(), TransitionToComplete::Nothing);
        assert_eq!(bits(&s), (COMPLETE | JOIN_INTEREST, 2));
        let s = state(RUNNING | JOIN_INTEREST | JOIN_WAKER, 2);
        assert_eq!(
            s.transition_to_complete(),
            TransitionToComplete::WakeJoinHandle
        );
        assert_eq!(bits(&s), (COMPLETE | JOIN_INTEREST | JOIN_WAKER, 2));
    }

    #[test]
    fn wake_by_val_of_idle_task_submits_with_a_new_ref() {
        let s = state(JOIN_INTEREST, 2);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::Submit
        );
        assert_eq!(bits(&s), (JOIN_INTEREST | NOTIFIED, 3));
    }

    #[test]
    fn wake_by_val_while_running_sets_notified_and_drops_the_waker_ref() {
        let s = state(RUNNING, 2);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::DoNothing
        );
        assert_eq!(bits(&s), (RUNNING | NOTIFIED, 1));
    }

    #[test]
    fn wake_by_val_of_notified_or_complete_task_only_drops_the_ref() {
        let s = state(NOTIFIED, 2);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::DoNothing
        );
        assert_eq!(bits(&s), (NOTIFIED, 1));
        let s = state(COMPLETE, 1);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::Dealloc
        );
        assert_eq!(bits(&s), (COMPLETE, 0));
    }

    #[test]
    fn wake_by_ref_of_idle_task_submits_once() {
        let s = state(0, 1);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::Submit
        );
        assert_eq!(bits(&s), (NOTIFIED, 2));
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(bits(&s), (NOTIFIED, 2));
    }

    #[test]
    fn wake_by_ref_while_running_sets_notified_only() {
        let s = state(RUNNING, 1);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(bits(&s), (RUNNING | NOTIFIED, 1));
    }

    #[test]
    fn wake_by_ref_of_complete_task_changes_nothing() {
        let s = state(COMPLETE, 1);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(bits(&s), (COMPLETE, 1));
    }

    #[test]
    fn abort_of_idle_task_submits_a_cancelling_notified() {
        let s = state(JOIN_INTEREST, 2);
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotifiedByRef::Submit
        );
        assert_eq!(bits(&s), (JOIN_INTEREST | NOTIFIED | CANCELLED, 3));
    }

    #[test]
    fn abort_of_running_or_queued_task_only_marks_it() {
        let s = state(RUNNING, 2);
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(bits(&s), (RUNNING | NOTIFIED | CANCELLED, 2));
        let s = state(NOTIFIED, 2);
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(bits(&s), (NOTIFIED | CANCELLED, 2));
    }

    #[test]
    fn abort_of_complete_or_cancelled_task_changes_nothing() {
        for flags in [COMPLETE, CANCELLED | NOTIFIED] {
            let s = state(flags, 1);
            assert_eq!(
                s.transition_to_notified_and_cancel(),
                TransitionToNotifiedByRef::DoNothing
            );
            assert_eq!(bits(&s), (flags, 1));
        }
    }

    #[test]
    fn shutdown_of_idle_task_takes_running() {
        let s = state(NOTIFIED | JOIN_INTEREST, 3);
        assert_eq!(s.transition_to_shutdown(), TransitionToShutdown::Cancel);
        assert_eq!(
            bits(&s),
            (RUNNING | CANCELLED | NOTIFIED | JOIN_INTEREST, 3)
        );
    }

    #[test]
    fn shutdown_of_running_task_marks_it_cancelled() {
        let s = state(RUNNING, 2);
        assert_eq!(
            s.transition_to_shutdown(),
            TransitionToShutdown::DropReference
        );
        assert_eq!(bits(&s), (RUNNING | CANCELLED, 2));
    }

    #[test]
    fn shutdown_of_complete_task_changes_nothing() {
        let s = state(COMPLETE, 1);
        assert_eq!(
            s.transition_to_shutdown(),
            TransitionToShutdown::DropReference
        );
        assert_eq!(bits(&s), (COMPLETE, 1));
    }

    #[test]
    fn join_waker_is_published_and_withdrawn_until_complete() {
        let s = state(JOIN_INTEREST, 1);
        assert_eq!(s.set_join_waker(), JoinWakerUpdate::Done);
        assert_eq!(bits(&s), (JOIN_INTEREST | JOIN_WAKER, 1));
        assert_eq!(s.unset_join_waker(), JoinWakerUpdate::Done);
        assert_eq!(bits(&s), (JOIN_INTEREST, 1));
    }

    #[test]
    fn join_waker_updates_fail_once_complete() {
        let s = state(COMPLETE | JOIN_INTEREST, 1);
        assert_eq!(s.set_join_waker(), JoinWakerUpdate::Completed);
        let s = state(COMPLETE | JOIN_INTEREST | JOIN_WAKER, 1);
        assert_eq!(s.unset_join_waker(), JoinWakerUpdate::Completed);
        assert_eq!(bits(&s), (COMPLETE | JOIN_INTEREST | JOIN_WAKER, 1));
    }

    #[test]
    fn withdrawing_join_waker_after_runner_cleared_it_reports_completed() {
        // The handle saw JOIN_WAKER set; the runner then completed and cleared it.
        let s = state(COMPLETE | JOIN_INTEREST, 2);
        assert_eq!(s.unset_join_waker(), JoinWakerUpdate::Completed);
        assert_eq!(bits(&s), (COMPLETE | JOIN_INTEREST, 2));
    }

    #[test]
    fn waker_after_complete_goes_to_whoever_is_left() {
        let s = state(COMPLETE | JOIN_INTEREST | JOIN_WAKER, 2);
        assert_eq!(
            s.unset_waker_after_complete(),
            UnsetWakerAfterComplete::LeaveToJoinHandle
        );
        assert_eq!(bits(&s), (COMPLETE | JOIN_INTEREST, 2));
        let s = state(COMPLETE | JOIN_WAKER, 1);
        assert_eq!(
            s.unset_waker_after_complete(),
            UnsetWakerAfterComplete::DropWaker
        );
        assert_eq!(bits(&s), (COMPLETE, 1));
    }

    #[test]
    fn join_handle_drop_before_complete_withdraws_the_waker() {
        let s = state(JOIN_INTEREST | JOIN_WAKER, 2);
        let t = s.transition_to_join_handle_dropped();
        assert_eq!((t.drop_output, t.drop_waker), (false, true));
        assert_eq!(bits(&s), (0, 2));
    }

    #[test]
    fn join_handle_drop_after_complete_takes_the_output() {
        let s = state(COMPLETE | JOIN_INTEREST, 1);
        let t = s.transition_to_join_handle_dropped();
        assert_eq!((t.drop_output, t.drop_waker), (true, true));
        assert_eq!(bits(&s), (COMPLETE, 1));
    }

    #[test]
    fn join_handle_drop_while_runner_wakes_leaves_the_waker_to_it() {
        let s = state(COMPLETE | JOIN_INTEREST | JOIN_WAKER, 2);
        let t = s.transition_to_join_handle_dropped();
        assert_eq!((t.drop_output, t.drop_waker), (true, false));
        assert_eq!(bits(&s), (COMPLETE | JOIN_WAKER, 2));
    }

    #[test]
    fn ref_count_reports_the_last_reference() {
        let s = state(0, 1);
        s.ref_inc();
        assert_eq!(bits(&s), (0, 2));
        assert_eq!(s.ref_dec(), RefDec::Alive);
        assert_eq!(s.ref_dec(), RefDec::Dealloc);
        let s = state(COMPLETE, 3);
        assert_eq!(s.ref_dec_by(2), RefDec::Alive);
        assert_eq!(s.ref_dec_by(1), RefDec::Dealloc);
    }
}
