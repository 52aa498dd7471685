//! A test-only stand-in for the `runtime` crate.
//!
//! It has exactly the surface that `#[runtime::main]` and `#[runtime::test]` expand to
//! (`Builder::{new_current_thread, new_multi_thread, worker_threads, build}` and
//! `Runtime::block_on`) and re-exports the two macros, so the macros' tests can build and run
//! their expansions before the real runtime exists. `block_on` polls on the calling thread
//! and parks it between wakes; there is no reactor, no timer and no thread pool.
//!
//! `probe` is the one thing the real runtime will not have: it tells a test which builder
//! calls the expansion made, so the flavor and worker-thread options can be checked at run time.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

pub use runtime_macros::{main, test};

/// The executor a [`Builder`] was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread()`.
    MultiThread,
}

/// Configures a [`Runtime`], as `runtime::Builder` will.
#[derive(Debug)]
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
}

impl Builder {
    /// A builder for the single-threaded flavor.
    pub fn new_current_thread() -> Builder {
        Builder {
            flavor: Flavor::CurrentThread,
            worker_threads: None,
        }
    }

    /// A builder for the work-stealing flavor.
    pub fn new_multi_thread() -> Builder {
        Builder {
            flavor: Flavor::MultiThread,
            worker_threads: None,
        }
    }

    /// Records the worker count.
    ///
    /// # Panics
    ///
    /// If `n` is 0, as the real builder does.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Builds the runtime and records this builder's settings for [`probe::last_built`].
    ///
    /// # Errors
    ///
    /// Never; the signature is the real one.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let built = probe::Built {
            flavor: self.flavor,
            worker_threads: self.worker_threads,
        };
        probe::LAST_BUILT.set(Some(built));
        Ok(Runtime { _built: built })
    }
}

/// Runs futures to completion on the calling thread.
#[derive(Debug)]
pub struct Runtime {
    _built: probe::Built,
}

impl Runtime {
    /// Polls `future` on this thread, parking between wakes, until it is ready.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let waker = Waker::from(Arc::new(Unparker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            // A wake before this park leaves the token set, so the park returns at once.
            thread::park();
        }
    }
}

/// Wakes the thread blocked in [`Runtime::block_on`].
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Stub-only: what the expansion asked the builder for.
pub mod probe {
    use super::Flavor;
    use std::cell::Cell;

    /// The settings of one `Builder::build` call.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Built {
        /// Which constructor the builder came from.
        pub flavor: Flavor,
        /// The `worker_threads` value, if one was set.
        pub worker_threads: Option<usize>,
    }

    thread_local! {
        pub(crate) static LAST_BUILT: Cell<Option<Built>> = const { Cell::new(None) };
    }

    /// The settings of the last runtime built on this thread.
    pub fn last_built() -> Option<Built> {
        LAST_BUILT.get()
    }
}
