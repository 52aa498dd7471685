// The function's attributes, doc comments and visibility survive the expansion; `main`'s
// `#[allow]` still applies to its body. (`entry` runs on a thread of its own: a runtime
// cannot be started from within another.)
#![deny(missing_docs)]
//! A crate whose public items must be documented.

/// A documented, public, synchronous entry point.
#[runtime::main(flavor = "current_thread")]
#[must_use]
pub async fn entry() -> u32 {
    5
}

#[runtime::main]
#[allow(unused_variables)]
async fn main() {
    let unused = std::thread::spawn(entry).join();
}
