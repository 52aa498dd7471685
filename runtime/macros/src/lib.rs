//! The `#[main]` and `#[test]` attributes of the `runtime` crate, which re-exports them as
//! `#[runtime::main]` and `#[runtime::test]`. Depend on `runtime`, not on this crate.
//!
//! Each turns an `async fn` into a plain one that builds a runtime with `runtime::Builder` and
//! blocks on the function's body. That is all they do: they add no runtime features and keep
//! no state, and the same program can always be written by hand with the builder.
//!
//! `#[runtime::main]` builds the multi-thread runtime: the body runs on the thread that
//! called the function, and the tasks it spawns run on a pool of worker threads, one per
//! core unless `worker_threads` says otherwise. `#[runtime::test]` builds the current-thread
//! runtime by default, as tokio's does, so a test and every task it spawns run on the test's
//! own thread; `flavor = "multi_thread"` gives it workers.
//!
//! ```
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let answer = async { 42 }.await;
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
//! ```
//!
//! # Arguments
//!
//! Both attributes take the same comma-separated `name = value` arguments:
//!
//! | argument | value | default |
//! |---|---|---|
//! | `flavor` | `"current_thread"` or `"multi_thread"` | `"multi_thread"` for `main`, `"current_thread"` for `test` |
//! | `worker_threads` | an integer literal, at least 1; only with the multi-thread flavor | one per core (the builder's default) |
//! | `start_paused` | `true` or `false`: start with the clock paused (virtual time, `Builder::start_paused`) | `false` |
//! | `crate` | a string holding the path of the runtime crate, for a renamed dependency | `"::runtime"` |
//!
//! A mistake in the arguments or the function is a compile error pointing at the argument or
//! token at fault. The function is still emitted, expanded as well as the arguments allow, so
//! other diagnostics and IDE features keep working on its body.
//!
//! # Expansion
//!
//! ```text
//! #[runtime::main(worker_threads = 2)]
//! async fn main() -> std::io::Result<()> {
//!     serve().await
//! }
//! ```
//!
//! becomes, roughly:
//!
//! ```text
//! fn main() -> std::io::Result<()> {
//!     let body = async move { serve().await };
//!     let mut body = ::core::pin::pin!(body);
//!     let body: Pin<&mut dyn Future<Output = std::io::Result<()>>> = body.as_mut();
//!     let runtime = ::runtime::Builder::new_multi_thread()
//!         .worker_threads(2)
//!         .build()
//!         .expect("failed to build the runtime");
//!     return runtime.block_on(body);
//! }
//! ```
//!
//! The body keeps its tokens and spans, so `return` and `?` work in it as in any `async fn`
//! and errors in it point at the code as written; naming the return type as the future's
//! output lets `?` convert errors into it. Attributes (doc comments, `#[ignore]`,
//! `#[should_panic]`), visibility and the return type are kept. `#[runtime::test]` also adds
//! `#[test]`.

mod config;
mod entry;

use config::Kind;
use proc_macro::TokenStream;

/// Runs an `async fn main` on a runtime: multi-thread unless `flavor = "current_thread"`.
///
/// The function's body becomes a future that the attribute blocks on, on a runtime built with
/// `runtime::Builder`: `Builder::new_multi_thread()`, with `.worker_threads(N)` if given, or
/// `Builder::new_current_thread().build_local()` (a `LocalRuntime`, so `spawn_local` works
/// in the body). The body runs on the calling thread; with the multi-thread flavor, the
/// tasks it spawns run on the workers. The return type is kept, so `main` may return `io::Result<()>` or any
/// other [`Termination`](std::process::Termination) type and use `?`.
///
/// # Arguments
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`.
/// - `worker_threads = N`: the multi-thread runtime's worker count, an integer literal of at
///   least 1 (default: one per core). A compile error with the current-thread flavor, which
///   has no workers.
/// - `crate = "path"`: where to find the runtime crate if it is not `::runtime`, for a renamed
///   dependency or a crate that re-exports it.
///
/// # Errors
///
/// Compile errors, each at the token at fault: an unknown, repeated or bare argument; a value
/// that is not a literal of the right kind; an unknown flavor; `worker_threads = 0` or
/// `worker_threads` with the current-thread flavor; a function that is not `async`; a `main`
/// that takes arguments.
///
/// # Panics
///
/// The expanded function panics if the runtime cannot be built (`Builder::build` returns an
/// error, for instance when the OS refuses a poller or a thread), and if it is called from
/// within a runtime, which cannot start another.
///
/// # Examples
///
/// ```
/// #[runtime::main(flavor = "current_thread")]
/// async fn main() {
///     println!("hello from a single-threaded runtime");
/// }
/// ```
///
/// ```
/// #[runtime::main(worker_threads = 4)]
/// async fn main() -> std::io::Result<()> {
///     let n: u32 = "7".parse().map_err(std::io::Error::other)?;
///     // Runs on one of the four workers, in parallel with the body.
///     let doubled = runtime::spawn(async move { n * 2 }).await?;
///     assert_eq!(doubled, 14);
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on its own runtime: current-thread unless
/// `flavor = "multi_thread"`.
///
/// Adds `#[test]` (so do not write one), and otherwise expands as [`macro@main`] does: each
/// test builds a fresh runtime and blocks on its body. By default that is the current-thread
/// runtime, so the test and the tasks it spawns run on the test's thread;
/// `flavor = "multi_thread"` runs them on workers, in parallel. Other attributes such as
/// `#[should_panic]` and `#[ignore]` go on below it as usual, and the test may return a
/// `Result` and use `?`.
///
/// Each test's runtime is built with `Builder::rng_seed`: the seed comes from the
/// environment variable `RUNTIME_TEST_SEED` (a `u64`) if set, else at random. On the
/// current-thread flavor it decides the order in which queued tasks run, so a test that
/// depends on an interleaving fails on some seeds; when the test panics, the seed is
/// printed to stderr as `runtime::test seed: N (rerun with RUNTIME_TEST_SEED=N)`.
///
/// # Arguments
///
/// The same as [`macro@main`]'s, except that `flavor` defaults to `"current_thread"`, so
/// `worker_threads` also needs `flavor = "multi_thread"`.
///
/// # Errors
///
/// The same compile errors as [`macro@main`], plus a test function that takes arguments and
/// a second `#[test]` attribute.
///
/// # Panics
///
/// The test panics (fails) if the runtime cannot be built, or if `RUNTIME_TEST_SEED` is set
/// but is not a `u64`.
///
/// # Examples
///
/// ```
/// #[runtime::test]
/// async fn answers() -> std::io::Result<()> {
///     assert_eq!(async { 42 }.await, 42);
///     Ok(())
/// }
///
/// #[runtime::test(start_paused = true)]
/// async fn a_day_passes_at_once() {
///     let start = runtime::time::Instant::now();
///     runtime::time::sleep(std::time::Duration::from_secs(86_400)).await;
///     assert_eq!(start.elapsed().as_secs(), 86_400);
/// }
///
/// #[runtime::test(flavor = "multi_thread", worker_threads = 2)]
/// #[should_panic(expected = "boom")]
/// async fn panics_propagate() {
///     panic!("boom");
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, args.into(), item.into()).into()
}
