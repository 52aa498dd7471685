//! Criterion's `AsyncExecutor` for `&Runtime` (feature `criterion`), so a benchmark can
//! drive async code with `b.to_async(&rt)`.

use std::future::Future;

use ::criterion::async_executor::AsyncExecutor;

use crate::Runtime;

/// Runs criterion's async benchmarks on this runtime: `b.to_async(&rt).iter(|| async { .. })`.
///
/// Criterion calls [`block_on`](AsyncExecutor::block_on) once per sample with a future that
/// runs every iteration of that sample, so the routine runs inside the runtime: it may
/// `spawn`, sleep and do I/O, and tasks it leaves behind stay on the runtime for the next
/// sample. Only the time of the iterations is measured, not the `block_on` around them.
///
/// Like [`Runtime::block_on`], it panics if the benchmark itself runs inside a runtime.
///
/// # Examples
///
/// ```no_run
/// use criterion::Criterion;
///
/// let rt = runtime::Builder::new_current_thread().build()?;
/// let mut c = Criterion::default();
/// c.bench_function("spawn", |b| {
///     b.to_async(&rt).iter(|| async { runtime::spawn(async { 1 }).await.unwrap() })
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
impl AsyncExecutor for &Runtime {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        Runtime::block_on(self, future)
    }
}
