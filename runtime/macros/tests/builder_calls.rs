//! The builder calls each expansion makes, read back through the stub's `probe`.
//!
//! STUB ONLY: `runtime::probe` exists only in `tests/stub`. When `runtime` is switched to
//! the real crate, delete this file (or keep a `runtime-stub` dev-dependency for it).

use runtime::Flavor::{CurrentThread, MultiThread};
use runtime::probe::{Built, last_built};

fn built(flavor: runtime::Flavor, worker_threads: Option<usize>) -> Option<Built> {
    Some(Built {
        flavor,
        worker_threads,
    })
}

#[runtime::test]
async fn test_defaults_to_current_thread() {
    assert_eq!(last_built(), built(CurrentThread, None));
}

#[runtime::test(flavor = "multi_thread")]
async fn test_flavor_multi_thread() {
    assert_eq!(last_built(), built(MultiThread, None));
}

#[runtime::test(flavor = "multi_thread", worker_threads = 3)]
async fn test_worker_threads_reach_the_builder() {
    assert_eq!(last_built(), built(MultiThread, Some(3)));
}

#[runtime::main]
async fn main_default() -> Option<Built> {
    last_built()
}

#[runtime::main(flavor = "current_thread")]
async fn main_current_thread() -> Option<Built> {
    last_built()
}

#[runtime::main(worker_threads = 5)]
async fn main_worker_threads() -> Option<Built> {
    last_built()
}

#[test]
fn main_defaults_to_multi_thread() {
    assert_eq!(main_default(), built(MultiThread, None));
}

#[test]
fn main_flavor_current_thread() {
    assert_eq!(main_current_thread(), built(CurrentThread, None));
}

#[test]
fn main_worker_threads_reach_the_builder() {
    assert_eq!(main_worker_threads(), built(MultiThread, Some(5)));
}
