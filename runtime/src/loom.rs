//! The loom facade: the concurrency primitives of the runtime's core, taken from `std`
//! and `parking_lot` in a normal build and from [`loom`](https://docs.rs/loom) under
//! `RUSTFLAGS="--cfg loom"`, so the same code runs in production and in the models.
//!
//! | path | normal build | `cfg(all(test, loom))` |
//! |---|---|---|
//! | `crate::loom::sync::atomic::*` | `std::sync::atomic::*` | `loom::sync::atomic::*` |
//! | `crate::loom::sync::Arc` | `std::sync::Arc` | `loom::sync::Arc` |
//! | `crate::loom::sync::{Mutex, MutexGuard, Condvar}` | `parking_lot`'s | wrappers over loom's with `parking_lot`'s API |
//! | `crate::loom::cell::UnsafeCell` | a wrapper over `std::cell::UnsafeCell` | `loom::cell::UnsafeCell` |
//! | `crate::loom::thread` | `std::thread` | `loom::thread` |
//! | `crate::loom::hint::spin_loop` | `std::hint::spin_loop` | `loom::hint::spin_loop` |
//! | `crate::loom::model` | - | `loom::model`, preemption bound 2 unless `LOOM_MAX_PREEMPTIONS` is set |
//!
//! Loom is a dev-dependency, so only the crate's own test build can see it: a non-test
//! build with `--cfg loom` (clippy's pass over the library) uses `std`. Write the
//! condition `all(test, loom)` in full wherever it is needed.
//!
//! The normal build pays nothing: everything is a re-export except `UnsafeCell`, whose
//! methods are `#[inline]` calls of `get()`.
//!
//! # Using it
//!
//! - A file whose mechanism a model covers imports these names from `crate::loom`, never
//!   from `std::sync`, `std::cell` or `parking_lot`. Everything else keeps `std`.
//! - `Mutex::lock()` returns the guard (no poisoning); `Mutex::try_lock()` an `Option`. `MutexGuard::unlocked(&mut g, f)`,
//!   `Condvar::{wait, wait_until, notify_one, notify_all}` work as in `parking_lot`, except
//!   that `notify_*` return `()`. Under loom a timed wait never sleeps: it releases the
//!   lock, yields, and reports a timeout. That is the worst case for a timed waiter (a
//!   notification sent meanwhile is missed), so the state under the lock must carry it.
//! - `UnsafeCell` is read in `cell.with(|ptr: *const T| ..)` and written in
//!   `cell.with_mut(|ptr: *mut T| ..)`. No reference may leave the closure: loom checks
//!   each access for races over exactly the closure's extent.
//! - Under loom every primitive is created inside a model: no `static` through the facade
//!   (loom's constructors are not `const`), and `Arc` has neither `Weak` nor unsized
//!   coercion (`Arc<dyn Fn()>` stays `std`).
//! - Loom threads are coroutines on one OS thread, so a `std` `thread_local!` is shared
//!   by all of them: state a model's threads must keep apart cannot live in one.
//! - A spin loop calls `thread::yield_now()` or `hint::spin_loop()`, or loom never lets the
//!   thread it waits for run.
//! - Shrink capacities for the models with `#[cfg(all(test, loom))]` constants (a ring of
//!   4 slots instead of 256, as tokio's `queue.rs` does), so a model overflows in a few
//!   steps.
//! - Loom 0.7 can let a load read a value older than one a racing `swap` read (loom issue
//!   #389): a flag set by `store` on one thread and taken by `swap` on another can look
//!   unset right after the store. A model that fails that way is loom's bug, not ours;
//!   model such a flag with a `Mutex` (see `loom_tests/readiness.rs`).
//!
//! # Models
//!
//! Models live in `src/loom_tests/`, one file per mechanism, each test wrapping its body in
//! `model`. Their names start with `loom_`. They run in release, from a separate target
//! directory:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p runtime --lib --release loom
//! ```

#[cfg(not(all(test, loom)))]
pub(crate) use std::thread;

#[cfg(all(test, loom))]
pub(crate) use ::loom::thread;

/// Atomics, `Arc`, and the locks.
pub(crate) mod sync {
    #[cfg(not(all(test, loom)))]
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
    #[cfg(not(all(test, loom)))]
    #[allow(
        unused_imports,
        reason = "for the models and the scheduler; not every build uses it"
    )]
    pub(crate) use std::sync::Arc;

    #[cfg(all(test, loom))]
    pub(crate) use super::mock::{Condvar, Mutex, MutexGuard};
    #[cfg(all(test, loom))]
    #[allow(
        unused_imports,
        reason = "for the models and the scheduler; not every build uses it"
    )]
    pub(crate) use ::loom::sync::Arc;

    /// `std::sync::atomic`, or loom's.
    pub(crate) mod atomic {
        #[cfg(not(all(test, loom)))]
        pub(crate) use std::sync::atomic::*;

        #[cfg(all(test, loom))]
        pub(crate) use ::loom::sync::atomic::*;
    }
}

/// `UnsafeCell` with loom's closure API.
pub(crate) mod cell {
    #[cfg(all(test, loom))]
    pub(crate) use ::loom::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` with the access methods of loom's: `with` to read, `with_mut`
    /// to write, each handing the closure a raw pointer.
    #[cfg(not(all(test, loom)))]
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(all(test, loom)))]
    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        /// The value's address from the cell's, without a reference: for writing a cell
        /// in place in an uninitialised allocation (`std::cell::UnsafeCell::raw_get`).
        #[inline]
        pub(crate) const fn raw_get(this: *const UnsafeCell<T>) -> *mut T {
            std::cell::UnsafeCell::raw_get(this.cast::<std::cell::UnsafeCell<T>>())
        }

        /// Reads through `*const T`; the caller's protocol says no one writes meanwhile.
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Writes through `*mut T`; the caller's protocol says the access is exclusive.
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// `std::hint`, or loom's.
#[allow(
    unused_imports,
    reason = "for the models and the scheduler; not every build uses it"
)]
pub(crate) mod hint {
    #[cfg(not(all(test, loom)))]
    pub(crate) use std::hint::spin_loop;

    #[cfg(all(test, loom))]
    pub(crate) use ::loom::hint::spin_loop;
}

/// Runs `f` under loom's checker, bounded to 2 preemptions unless `LOOM_MAX_PREEMPTIONS`
/// asks for another bound.
#[cfg(all(test, loom))]
pub(crate) fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = ::loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// `parking_lot`'s lock API over loom's `std`-style locks.
#[cfg(all(test, loom))]
mod mock {
    use std::fmt;
    use std::ops::{Deref, DerefMut};
    use std::time::Instant;

    /// A mutex whose `lock` returns the guard, as `parking_lot`'s does.
    pub(crate) struct Mutex<T>(::loom::sync::Mutex<T>);

    /// The guard of [`Mutex`]. Holds loom's guard except while [`Condvar`] waits with it or
    /// [`unlocked`](MutexGuard::unlocked) runs.
    pub(crate) struct MutexGuard<'a, T> {
        lock: &'a ::loom::sync::Mutex<T>,
        guard: Option<::loom::sync::MutexGuard<'a, T>>,
    }

    /// A condition variable with `parking_lot`'s signatures.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(::loom::sync::Condvar);

    /// Whether a timed wait timed out (under loom: always).
    #[derive(Debug)]
    pub(crate) struct WaitTimeoutResult(bool);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(::loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard {
                lock: &self.0,
                guard: Some(
                    self.0
                        .lock()
                        .expect("a model thread panicked holding a lock"),
                ),
            }
        }
    }

    impl<T> Mutex<T> {
        /// The guard if the lock is free right now.
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(guard) => Some(MutexGuard {
                    lock: &self.0,
                    guard: Some(guard),
                }),
                Err(std::sync::TryLockError::WouldBlock) => None,
                Err(std::sync::TryLockError::Poisoned(_)) => {
                    panic!("a model thread panicked holding a lock")
                }
            }
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Mutex<T> {
            Mutex::new(T::default())
        }
    }

    impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    impl<'a, T> MutexGuard<'a, T> {
        /// Runs `f` with the lock released, then takes it again.
        pub(crate) fn unlocked<U>(this: &mut Self, f: impl FnOnce() -> U) -> U {
            drop(this.guard.take());
            let result = f();
            this.guard = Some(
                this.lock
                    .lock()
                    .expect("a model thread panicked holding a lock"),
            );
            result
        }

        fn take(&mut self) -> ::loom::sync::MutexGuard<'a, T> {
            self.guard.take().expect("the guard is held outside a wait")
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            self.guard
                .as_ref()
                .expect("the guard is held outside a wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.guard
                .as_mut()
                .expect("the guard is held outside a wait")
        }
    }

    impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (**self).fmt(f)
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(::loom::sync::Condvar::new())
        }

        /// Waits for a notification.
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.take();
            guard.guard = Some(
                self.0
                    .wait(inner)
                    .expect("a model thread panicked holding a lock"),
            );
        }

        /// Loom has no clock: release the lock, let the others run, report a timeout.
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: Instant,
        ) -> WaitTimeoutResult {
            MutexGuard::unlocked(guard, ::loom::thread::yield_now);
            WaitTimeoutResult(true)
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            self.0
        }
    }
}
