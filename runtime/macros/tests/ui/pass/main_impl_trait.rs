// A return type that names an `impl Trait` expands and runs: it cannot be named as a
// future's output, so its body is checked through `block_on`'s return value instead.
use std::process::{ExitCode, Termination};

#[runtime::main(flavor = "current_thread")]
async fn main() -> impl Termination {
    ExitCode::SUCCESS
}
