//! `task::name()`: the name of the task running on this thread.
//!
//! A name lives in the task's cold trailer (`raw.rs`), set once by
//! [`Builder::name`](super::Builder::name); an unnamed task stores `None`, so it pays
//! nothing for the feature. This reads it through the header that `id.rs` keeps current
//! around every poll and drop of a task's future.

use std::sync::Arc;

use super::id;

/// The name of the task running on this thread, as given to
/// [`Builder::name`](super::Builder::name).
///
/// `None` outside a task (for example in `block_on`'s own future or on a plain thread)
/// and inside a task spawned without a name. Inside a `spawn_blocking` closure started
/// with a name, that name. It never panics, so there is no `try_name`.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let task = runtime::task::Builder::new()
///     .name("conn 10.0.0.7")
///     .spawn(async { runtime::task::name() })?;
/// assert_eq!(task.await.unwrap().as_deref(), Some("conn 10.0.0.7"));
/// assert_eq!(runtime::task::name(), None); // block_on's future is not a task
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn name() -> Option<Arc<str>> {
    let header = id::current_header()?;
    // SAFETY: the header is current only while the code that entered it (the harness,
    // polling or dropping this task's future) holds a reference: the task is alive for
    // this whole call, which runs inside that poll or drop.
    unsafe { (header.as_ref().vtable.name)(header) }
}
