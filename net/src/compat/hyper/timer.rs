//! `HyperTimer`: hyper's `rt::Timer` on [`runtime::time::Sleep`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use runtime::Handle;
use runtime::time::Sleep;

/// hyper's [`Timer`](hyper::rt::Timer) on this runtime's timers, for hyper's timeouts
/// (`http1::Builder::header_read_timeout`, HTTP/2 keep-alive pings), as hyper-util's
/// `TokioTimer` is on tokio's.
///
/// Its sleeps are [`runtime::time::Sleep`]s, so they fire within the poller's precision
/// of their deadline, never before it. `reset` moves an existing sleep of this timer in
/// place instead of allocating a new one. Like [`HyperExecutor`](super::HyperExecutor) it
/// holds a [`runtime::Handle`], so hyper may ask for a sleep from any thread.
///
/// ```no_run
/// # async fn run(stream: net::TcpStream) {
/// use std::time::Duration;
/// use net::compat::hyper::HyperTimer;
///
/// let service = hyper::service::service_fn(|_| async {
///     Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hi")))
/// });
/// let _ = hyper::server::conn::http1::Builder::new()
///     .timer(HyperTimer::new())
///     .header_read_timeout(Duration::from_secs(5))
///     .serve_connection(stream, service)
///     .await;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HyperTimer {
    handle: Handle,
}

/// The sleep `HyperTimer` hands hyper: `reset` finds it again by downcasting.
#[derive(Debug)]
struct HyperSleep(Sleep);

impl HyperTimer {
    /// A timer on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime (call it from a task, from `block_on`, or after
    /// `Handle::enter`); [`HyperTimer::with_handle`] takes one explicitly.
    pub fn new() -> HyperTimer {
        HyperTimer::with_handle(Handle::current())
    }

    /// A timer on `handle`'s runtime.
    pub fn with_handle(handle: Handle) -> HyperTimer {
        HyperTimer { handle }
    }
}

impl Default for HyperTimer {
    /// [`HyperTimer::new`].
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    fn default() -> HyperTimer {
        HyperTimer::new()
    }
}

impl From<Handle> for HyperTimer {
    fn from(handle: Handle) -> HyperTimer {
        HyperTimer::with_handle(handle)
    }
}

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let _runtime = self.handle.enter();
        Box::pin(HyperSleep(runtime::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let _runtime = self.handle.enter();
        Box::pin(HyperSleep(runtime::time::sleep_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => Pin::new(&mut ours.get_mut().0).reset(new_deadline),
            // Another timer's sleep: replace it, as hyper's default `reset` does.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

#[cfg(test)]
mod tests {
    use hyper::rt::Timer;

    use super::*;

    /// hyper requires its sleeps to be `Send + Sync`; so must ours be.
    const _: () = {
        const fn send_sync<T: Send + Sync>() {}
        send_sync::<Sleep>();
        send_sync::<HyperSleep>();
        send_sync::<HyperTimer>();
    };

    fn block_on<F: Future>(future: F) -> F::Output {
        runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    // Proves `sleep` and `sleep_until` complete, and never before their deadline.
    #[test]
    fn sleeps_complete_at_their_deadline() {
        block_on(async {
            let timer = HyperTimer::new();
            let start = Instant::now();
            timer.sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20));
            let deadline = Instant::now() + Duration::from_millis(10);
            timer.sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        });
    }

    // Proves `reset` moves our own sleep in place (same allocation), both earlier and
    // later, and that the moved sleep fires at the new deadline; a foreign sleep is
    // replaced by one of ours.
    #[test]
    fn reset_moves_the_sleep_in_place() {
        block_on(async {
            let timer = HyperTimer::new();
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let before = std::ptr::from_ref::<dyn hyper::rt::Sleep>(&*sleep).cast::<u8>();
            let deadline = Instant::now() + Duration::from_millis(15);
            timer.reset(&mut sleep, deadline);
            let after = std::ptr::from_ref::<dyn hyper::rt::Sleep>(&*sleep).cast::<u8>();
            assert_eq!(before, after, "reset reallocated our own sleep");
            sleep.as_mut().await;
            assert!(Instant::now() >= deadline);

            let later = Instant::now() + Duration::from_millis(10);
            timer.reset(&mut sleep, later);
            sleep.as_mut().await;
            assert!(Instant::now() >= later);

            let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
            timer.reset(&mut foreign, Instant::now());
            assert!(foreign.as_mut().downcast_mut_pin::<HyperSleep>().is_some());
            foreign.await;
        });
    }

    // Proves a timer made from a handle gives working sleeps outside any runtime context.
    #[test]
    fn sleep_from_outside_the_runtime() {
        let rt = runtime::Builder::new_current_thread().build().unwrap();
        let timer = HyperTimer::with_handle(rt.handle().clone());
        let sleep = timer.sleep(Duration::from_millis(5));
        rt.block_on(sleep);
    }

    struct Foreign;

    impl Future for Foreign {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    impl hyper::rt::Sleep for Foreign {}
}
