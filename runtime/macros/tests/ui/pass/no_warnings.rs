// The expansion is warning-free under strict lints: `unused_qualifications` does not fire
// on the generated `runtime::Builder` (also with a `crate = "runtime"` that has no leading
// `::`) or `::core::pin::Pin`, although `Builder`, `Pin` and `Future` are in scope here.
// An inner attribute at the top of the body still applies to the body. (`renamed` runs on a
// thread of its own: a runtime cannot be started from within another.)
#![deny(warnings, unused_qualifications, unused_results)]

use runtime::Builder;
use std::future::Future;
use std::pin::Pin;

fn _uses_the_imports(_: Builder, _: Pin<&mut dyn Future<Output = ()>>) {}

#[runtime::main(crate = "runtime", flavor = "current_thread")]
async fn renamed() -> u8 {
    1
}

#[runtime::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    #![allow(unused_variables)]
    let unused = 1;
    let n: u8 = "3".parse()?;
    let one = std::thread::spawn(renamed).join().map_err(|_| "`renamed` panicked")?;
    assert_eq!(n + one, 4);
    Ok(())
}
