// A value of the wrong form is an error at the value: flavor and crate take string
// literals, worker_threads an integer literal (not an expression, string or negative).
#![allow(dead_code)]

#[runtime::main(flavor = current_thread)]
async fn flavor_path() {}

#[runtime::test(flavor = 1)]
async fn flavor_integer() {}

#[runtime::main(worker_threads = "4")]
async fn workers_string() {}

#[runtime::main(worker_threads = 2 + 2)]
async fn workers_expression() {}

#[runtime::main(worker_threads = -1)]
async fn workers_negative() {}

#[runtime::main(crate = runtime)]
async fn crate_path_unquoted() {}

#[runtime::main(crate = "not a path!")]
async fn crate_path_malformed() {}

fn main() {}
