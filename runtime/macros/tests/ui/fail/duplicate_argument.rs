// An argument given twice is an error at the second one.
#![allow(dead_code)]

#[runtime::main(flavor = "multi_thread", flavor = "current_thread")]
async fn flavor_twice() {}

#[runtime::main(worker_threads = 2, worker_threads = 2)]
async fn workers_twice() {}

#[runtime::main(crate = "::runtime", crate = "::runtime")]
async fn crate_twice() {}

fn main() {}
