// `worker_threads` with the current-thread flavor is an error at the `worker_threads`
// argument, whether the flavor was given (before or after it) or is `#[runtime::test]`'s
// default.
#![allow(dead_code)]

#[runtime::main(flavor = "current_thread", worker_threads = 2)]
async fn explicit() {}

#[runtime::main(worker_threads = 2, flavor = "current_thread")]
async fn explicit_after() {}

#[runtime::test(worker_threads = 2)]
async fn test_default() {}

fn main() {}
