//! An idle runtime costs no CPU: it parks in the poller until its next timer.
//!
//! Its own test binary, with a single test, because it measures the CPU time of the whole
//! process: other tests running beside it would count against its budget.

use std::time::Duration;

use runtime::time::sleep;
use tests::rt::{Flavor, process_cpu_time, with_hang_guard};

/// Most CPU an idle second may cost. A budget, not a speed: a busy-polling runtime burns
/// the whole second.
const BUDGET: Duration = Duration::from_millis(50);

// Proves that a runtime blocked for 1 s in `block_on(sleep(1 s))` burns less than 50 ms of
// CPU, also while it holds an idle registered socket and a timer decades away (a far
// deadline must not turn into a zero or negative poller timeout, which would spin); on
// each flavor in turn (one test, since the measure is process-wide), so idle
// multi-thread workers must park too.
// Steps, per flavor: build and warm the runtime; read the process CPU clock; block_on a
// 1 s sleep; read the clock again.
#[test]
fn idle_runtime_burns_less_than_50ms_cpu_per_second() {
    with_hang_guard(|| {
        for flavor in Flavor::ALL {
            assert_idle_second_is_cheap(flavor);
        }
    });
}

fn assert_idle_second_is_cheap(flavor: Flavor) {
    let rt = flavor.build();
    let (idle, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    idle.set_nonblocking(true).unwrap();
    let parked = rt.block_on(async {
        let fd = runtime::io::AsyncFd::new(idle).unwrap();
        let far = runtime::spawn(sleep(Duration::MAX));
        let io = runtime::spawn(async move {
            let _ = fd.readable().await;
        });
        sleep(Duration::from_millis(1)).await; // everything registered and parked
        (far, io)
    });
    let before = process_cpu_time();
    rt.block_on(async { sleep(Duration::from_secs(1)).await });
    let used = process_cpu_time() - before;
    assert!(
        used < BUDGET,
        "{flavor:?}: an idle second cost {used:?} of CPU (budget {BUDGET:?})"
    );
    drop(parked);
}
