// An argument that is not `flavor`, `worker_threads` or `crate` is an error at its name; a
// bare word or a list form is an error at the whole argument, with a hint when the word is
// a flavor or a known argument missing its value.
#![allow(dead_code)]

#[runtime::main(flavour = "current_thread")]
async fn misspelt() {}

#[runtime::test(unhandled_panic = "shutdown_runtime")]
async fn unsupported() {}

#[runtime::main(multi_thread)]
async fn bare_flavor() {}

#[runtime::test(worker_threads)]
async fn missing_value() {}

#[runtime::main(flavor("current_thread"))]
async fn list_form() {}

fn main() {}
