//! `HyperExecutor`: hyper's `rt::Executor`, spawning on a runtime.

use std::future::Future;

use runtime::Handle;

/// hyper's [`Executor`](hyper::rt::Executor) for this runtime: spawns the tasks hyper
/// hands it (HTTP/2's connection and stream tasks) on the runtime it was made for, as
/// hyper-util's `TokioExecutor` does on tokio.
///
/// It holds a [`runtime::Handle`], so a connection polled outside that runtime (on
/// another executor or thread) still spawns there. Once the runtime is dropped, spawned
/// tasks are dropped at once, which closes their connections.
///
/// ```no_run
/// # async fn run(stream: net::TcpStream) -> hyper::Result<()> {
/// use net::compat::hyper::HyperExecutor;
///
/// let (mut sender, connection) =
///     hyper::client::conn::http2::handshake::<_, _, String>(HyperExecutor::new(), stream)
///         .await?;
/// runtime::spawn(connection);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HyperExecutor {
    handle: Handle,
}

impl HyperExecutor {
    /// An executor spawning on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime (call it from a task, from `block_on`, or after
    /// `Handle::enter`); [`HyperExecutor::with_handle`] takes one explicitly.
    pub fn new() -> HyperExecutor {
        HyperExecutor::with_handle(Handle::current())
    }

    /// An executor spawning on `handle`'s runtime.
    pub fn with_handle(handle: Handle) -> HyperExecutor {
        HyperExecutor { handle }
    }
}

impl Default for HyperExecutor {
    /// [`HyperExecutor::new`].
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    fn default() -> HyperExecutor {
        HyperExecutor::new()
    }
}

impl From<Handle> for HyperExecutor {
    fn from(handle: Handle) -> HyperExecutor {
        HyperExecutor::with_handle(handle)
    }
}

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper keeps track of its tasks itself.
        drop(self.handle.spawn(future));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use hyper::rt::Executor;

    use super::*;

    // Proves a task handed to an executor made from a handle runs on that runtime even
    // when `execute` is called from a thread outside any runtime.
    #[test]
    fn executes_on_its_runtime_from_a_foreign_thread() {
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let executor = HyperExecutor::from(rt.handle().clone());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            executor.execute(async move { tx.send(Handle::try_current().is_ok()).unwrap() })
        })
        .join()
        .unwrap();
        let in_runtime = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert!(in_runtime, "the task ran inside the runtime");
    }
}
