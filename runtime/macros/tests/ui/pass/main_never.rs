// A `main` that never returns (`-> !`) expands and runs: `!` cannot be named as a future's
// output, so its body is checked through `block_on`'s return value instead.
#[runtime::main]
async fn main() -> ! {
    std::process::exit(0)
}
