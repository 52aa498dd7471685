// `start_paused = true` builds the runtime with its clock paused, on either flavor: an
// hour's sleep returns at once (auto-advance), exactly an hour later on the runtime's clock.
use std::time::Duration;

use runtime::time::{Instant, sleep};

const HOUR: Duration = Duration::from_secs(3600);

#[runtime::main(flavor = "current_thread", start_paused = true)]
async fn on_current_thread() -> Duration {
    let start = Instant::now();
    sleep(HOUR).await;
    start.elapsed()
}

#[runtime::main(start_paused = true)]
async fn main() {
    let real = std::time::Instant::now();
    let start = Instant::now();
    sleep(HOUR).await;
    assert_eq!(start.elapsed(), HOUR);
    assert!(real.elapsed() < Duration::from_secs(60), "it did not wait an hour");
    // A runtime cannot start inside another's `block_on`; run the other flavor beside it.
    let other = std::thread::spawn(on_current_thread).join().unwrap();
    assert_eq!(other, HOUR);
}
