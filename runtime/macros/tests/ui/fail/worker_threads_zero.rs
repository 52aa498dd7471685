// `worker_threads` must be at least 1 and fit a usize: an error at the literal.
#![allow(dead_code)]

#[runtime::main(worker_threads = 0)]
async fn zero() {}

#[runtime::test(flavor = "multi_thread", worker_threads = 0)]
async fn zero_in_test() {}

#[runtime::main(worker_threads = 100000000000000000000000)]
async fn too_large() {}

fn main() {}
