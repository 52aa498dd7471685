//! `#[runtime::test]` under the real test harness: the expanded functions are registered as
//! tests, run, and keep the attributes that change how the harness treats them.
//!
//! trybuild cannot show this: it builds its cases without `--test`, where `#[test]`
//! functions are compiled out. These tests use only the public surface of `runtime`, so they
//! run unchanged against the real crate.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Ready on the second poll, having woken its task from the first: proves the body is
/// driven by `block_on` to completion, not polled once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[runtime::test]
async fn body_runs_to_completion() {
    YieldOnce(false).await;
    YieldOnce(false).await;
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_flavor_runs() {
    YieldOnce(false).await;
}

// `?` converts the error into the declared type: `ParseIntError` into `Box<dyn Error>`.
#[runtime::test]
async fn question_mark_converts_errors() -> Result<(), Box<dyn Error>> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
}

// `return` leaves the body's future, which is the test's body.
#[runtime::test]
async fn return_leaves_the_body() {
    if std::hint::black_box(true) {
        return;
    }
    unreachable!("`return` did not leave the body");
}

// `#[should_panic]` is kept, and the body's panic reaches the harness with its message.
#[runtime::test]
#[should_panic(expected = "boom from the body")]
async fn should_panic_is_kept() {
    YieldOnce(false).await;
    panic!("boom from the body");
}

// `#[ignore]` is kept: were it dropped, this test would run and fail.
#[runtime::test]
#[ignore = "proves `#[ignore]` survives the expansion; never meant to run"]
async fn ignore_is_kept() {
    panic!("an ignored test ran");
}

/// Doc comments, visibility and inner attributes are kept.
#[runtime::test]
pub async fn doc_comment_visibility_and_inner_attributes_are_kept() {
    #![allow(unused_variables)]
    let unused = ();
}

// `start_paused = true` under the real harness, on both flavors: the clock is virtual and
// auto-advances to the timer, exactly.
#[runtime::test(start_paused = true)]
async fn start_paused_current_thread() {
    let start = runtime::time::Instant::now();
    runtime::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn start_paused_multi_thread() {
    let start = runtime::time::Instant::now();
    runtime::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
}

// The fixture of `a_failing_test_prints_its_seed`, run only by it (in a child process).
#[runtime::test]
#[ignore = "fixture: fails on purpose, run by a_failing_test_prints_its_seed"]
async fn seed_fixture_fails() {
    runtime::task::yield_now().await;
    panic!("the fixture fails");
}

// A failing `#[runtime::test]` prints the seed its runtime was built with, taken from
// `RUNTIME_TEST_SEED`, in the form a rerun needs. Runs this very test binary on the
// fixture above and reads its stderr.
#[test]
fn a_failing_test_prints_its_seed() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "seed_fixture_fails",
            "--test-threads=1",
        ])
        .env("RUNTIME_TEST_SEED", "12345")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the fixture must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = "runtime::test seed: 12345 (rerun with RUNTIME_TEST_SEED=12345)";
    assert!(
        stderr.contains(expected) || stdout.contains(expected),
        "stderr: {stderr}\nstdout: {stdout}"
    );
}
