//! The builder's settings for deterministic tests: virtual time and a scheduling seed.

use super::Builder;
use crate::RngSeed;

/// Settings for tests that must not depend on real time or on luck.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Determinism {
    /// The clock starts paused (`time::pause` at build).
    pub(crate) start_paused: bool,
    /// A paused clock moves to the next timer when the runtime is idle.
    pub(crate) auto_advance: bool,
    /// Seeds the current-thread scheduler's choice of the next task.
    pub(crate) rng_seed: Option<RngSeed>,
}

impl Default for Determinism {
    fn default() -> Determinism {
        Determinism {
            start_paused: false,
            auto_advance: true,
            rng_seed: None,
        }
    }
}

impl Builder {
    /// Starts the runtime with its clock paused, as if [`time::pause`](crate::time::pause())
    /// ran first (tokio's `start_paused`; here on both flavors). Default `false`. See the
    /// [Virtual time](crate::time#virtual-time) section.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new_multi_thread().start_paused(true).build()?;
    /// rt.block_on(async {
    ///     // A day passes at once: the runtime is idle, so the clock jumps to the timer.
    ///     runtime::time::sleep(Duration::from_secs(86_400)).await;
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Builder {
        self.determinism.start_paused = paused;
        self
    }

    /// Whether a paused clock moves on its own to the next timer when the runtime is idle
    /// (default `true`, as tokio). With `false` only
    /// [`time::advance`](crate::time::advance) moves it, so a sleep under a paused clock
    /// completes only once the test has advanced past its deadline (tokio #4522).
    pub fn auto_advance(&mut self, enabled: bool) -> &mut Builder {
        self.determinism.auto_advance = enabled;
        self
    }

    /// Seeds the current-thread scheduler's choice of the next task: with a seed it picks
    /// among the queued tasks pseudo-randomly, so interleavings vary from seed to seed and
    /// repeat exactly for the same seed (given the same tasks doing the same things).
    /// Without one (the default) it runs tasks in FIFO order at no extra cost. The
    /// multi-thread flavor ignores it: its threads interleave as the OS runs them.
    pub fn rng_seed(&mut self, seed: RngSeed) -> &mut Builder {
        self.determinism.rng_seed = Some(seed);
        self
    }
}
