//! `RngSeed` and the small generator it seeds: reproducible scheduling decisions.
//!
//! A seeded current-thread scheduler draws from [`FastRand`] to pick which queued task
//! runs next, so task interleavings vary with the seed and repeat exactly for the same
//! seed (as long as the tasks do the same things: no I/O or real time in between).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A seed for the runtime's scheduling decisions, as tokio's `runtime::RngSeed`.
///
/// Set it with [`Builder::rng_seed`](crate::Builder::rng_seed): two current-thread runtimes
/// built with the same seed, running the same tasks, interleave them the same way.
///
/// # Examples
///
/// ```
/// let seed = runtime::RngSeed::from_bytes(b"make it the same every time");
/// let rt = runtime::Builder::new_current_thread().rng_seed(seed).build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngSeed(u64);

impl RngSeed {
    /// A seed derived from `bytes` (hashed: any length works, equal bytes give equal seeds).
    pub fn from_bytes(bytes: &[u8]) -> RngSeed {
        // FNV-1a: stable across runs and Rust versions, unlike std's SipHash keys.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        RngSeed(hash)
    }

    /// The seed whose [`value`](RngSeed::value) is `n`: what a printed seed reruns with.
    pub fn from_u64(n: u64) -> RngSeed {
        RngSeed(n)
    }

    /// The seed as a number (`#[runtime::test]` prints it when a test fails).
    pub fn value(&self) -> u64 {
        self.0
    }

    /// A fresh seed from the process's randomness (std's `RandomState` keys).
    pub fn random() -> RngSeed {
        RngSeed(RandomState::new().hash_one(std::time::SystemTime::now()))
    }
}

/// The seed of one `#[runtime::test]`: `RUNTIME_TEST_SEED` if set (a `u64`), else random.
/// Printed to stderr if the test panics, so the failing interleaving can be rerun.
#[doc(hidden)]
#[derive(Debug)]
pub struct TestSeed(RngSeed);

impl TestSeed {
    /// The seed for this test.
    ///
    /// # Panics
    ///
    /// If `RUNTIME_TEST_SEED` is set but is not a `u64`.
    #[expect(
        clippy::new_without_default,
        reason = "reads the environment; macro use only"
    )]
    pub fn new() -> TestSeed {
        let seed = match std::env::var("RUNTIME_TEST_SEED") {
            Ok(value) => RngSeed::from_u64(value.trim().parse().unwrap_or_else(|_| {
                panic!("RUNTIME_TEST_SEED={value:?} is not a u64 seed (as printed by a failure)")
            })),
            Err(_) => RngSeed::random(),
        };
        TestSeed(seed)
    }

    /// The seed to build the test's runtime with.
    pub fn rng_seed(&self) -> RngSeed {
        self.0
    }
}

impl Drop for TestSeed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let n = self.0.value();
            eprintln!("runtime::test seed: {n} (rerun with RUNTIME_TEST_SEED={n})");
        }
    }
}

/// xorshift64* seeded by an [`RngSeed`]; never zero inside.
#[derive(Clone, Debug)]
pub(crate) struct FastRand(u64);

impl FastRand {
    pub(crate) fn new(seed: RngSeed) -> FastRand {
        // Spread the bits of small seeds (0, 1, 2...) with splitmix64; avoid zero.
        let mut z = seed.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        FastRand((z ^ (z >> 31)) | 1)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((u128::from(r >> 32) * n as u128) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_give_equal_seeds_and_sequences() {
        assert_eq!(RngSeed::from_bytes(b"abc"), RngSeed::from_bytes(b"abc"));
        assert_ne!(RngSeed::from_bytes(b"abc"), RngSeed::from_bytes(b"abd"));
        let draw = |seed| {
            let mut rng = FastRand::new(seed);
            (0..32).map(|_| rng.below(10)).collect::<Vec<_>>()
        };
        assert_eq!(draw(RngSeed::from_u64(7)), draw(RngSeed::from_u64(7)));
        assert_ne!(draw(RngSeed::from_u64(7)), draw(RngSeed::from_u64(8)));
        assert!(draw(RngSeed::from_u64(0)).iter().all(|&n| n < 10));
    }
}
