// An unknown flavor is an error at the string, naming the two that exist. It is the only
// error: `worker_threads` next to it is not also blamed on the default flavor.
#![allow(dead_code)]

#[runtime::main(flavor = "multi-thread")]
async fn hyphenated() {}

#[runtime::test(flavor = "local")]
async fn local() {}

#[runtime::test(flavor = "threaded", worker_threads = 2)]
async fn with_workers() {}

fn main() {}
