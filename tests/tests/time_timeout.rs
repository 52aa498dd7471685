//! `timeout` and `timeout_at`: both outcomes, the error's conversions, what happens to the
//! wrapped future, and tokio's shapes: `IntoFuture` arguments, `time::error::Elapsed`,
//! `get_ref`/`get_mut`/`into_inner`.

use std::future::{IntoFuture, Ready, pending, ready};
use std::io;
use std::time::Duration;

use runtime::time::{Elapsed, Instant, sleep, timeout, timeout_at};
use tests::rt::DropCounter;
use tests::rt_test;

/// Lets `?` turn an `Elapsed` into an `io::Error`.
async fn slow_io() -> io::Result<()> {
    timeout(Duration::from_millis(5), pending::<()>()).await?;
    Ok(())
}

rt_test! {
    // Proves that a future finishing before the deadline gives Ok with its output, both
    // an immediately ready one and one that takes a few milliseconds.
    async fn timeout_of_a_fast_future_is_ok() {
        assert_eq!(timeout(Duration::from_secs(10), async { 7 }).await, Ok(7));
        let slowish = async {
            sleep(Duration::from_millis(5)).await;
            "done"
        };
        assert_eq!(timeout(Duration::from_secs(10), slowish).await, Ok("done"));
    }

    // Proves that a future still pending at the deadline gives Err(Elapsed), not before
    // the deadline, and that the wrapped future is dropped with the Timeout.
    async fn timeout_of_a_slow_future_is_elapsed_and_drops_it() {
        let drops = DropCounter::new();
        let guard = drops.guard();
        let start = Instant::now();
        let slow = async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        };
        let result = timeout(Duration::from_millis(20), slow).await;
        assert_eq!(result, Err::<(), _>(elapsed().await));
        assert!(start.elapsed() >= Duration::from_millis(20), "elapsed early");
        assert_eq!(drops.count(), 1);
    }

    // Proves that Elapsed converts into io::ErrorKind::TimedOut (also through `?`) and
    // displays as such.
    async fn elapsed_converts_into_timed_out() {
        let err = slow_io().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let direct: io::Error = elapsed().await.into();
        assert_eq!(direct.kind(), io::ErrorKind::TimedOut);
        assert_eq!(elapsed().await.to_string(), "deadline has elapsed");
    }

    // Proves that the wrapped future is polled before the deadline is checked: a ready
    // future wins even with a zero duration or a deadline in the past, and a pending one
    // loses at once.
    async fn ready_future_wins_even_with_an_expired_deadline() {
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(timeout_at(past, async { 2 }).await, Ok(2));
        assert!(timeout(Duration::ZERO, pending::<()>()).await.is_err());
        assert!(timeout_at(past, pending::<()>()).await.is_err());
    }

    // Proves that timeout_at honours an absolute deadline, and that into_inner gives the
    // wrapped future back intact.
    async fn timeout_at_and_into_inner() {
        let deadline = Instant::now() + Duration::from_millis(15);
        assert!(timeout_at(deadline, pending::<()>()).await.is_err());
        assert!(Instant::now() >= deadline);
        let wrapped = timeout(Duration::from_secs(1), async { 9 });
        assert_eq!(wrapped.into_inner().await, 9);
    }

    // Proves: `timeout` and `timeout_at` take anything `IntoFuture` (as tokio's), and the
    // error is also reachable as `runtime::time::error::Elapsed`.
    async fn timeout_takes_into_future() {
        assert_eq!(timeout(Duration::from_secs(10), Answer).await, Ok(42));
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(timeout_at(deadline, Answer).await, Ok(42));
        let err: runtime::time::error::Elapsed =
            timeout(Duration::ZERO, pending::<()>()).await.unwrap_err();
        assert_eq!(err, elapsed().await);
    }

    // Proves: `get_ref` and `get_mut` reach the wrapped future before it is polled, and
    // `into_inner` returns it (with what `get_mut` changed).
    async fn get_ref_get_mut_and_into_inner_reach_the_future() {
        let mut wrapped = timeout(Duration::from_secs(10), ready(1));
        let _: &Ready<i32> = wrapped.get_ref();
        *wrapped.get_mut() = ready(5);
        assert_eq!(wrapped.into_inner().await, 5);
    }
}

/// An `Elapsed` to compare with (it has no public constructor).
async fn elapsed() -> Elapsed {
    timeout(Duration::ZERO, pending::<()>()).await.unwrap_err()
}

/// Not a future itself, only `IntoFuture`, like a builder that ported code awaits.
struct Answer;

impl IntoFuture for Answer {
    type Output = i32;
    type IntoFuture = Ready<i32>;

    fn into_future(self) -> Ready<i32> {
        ready(42)
    }
}
