// Arguments that do not parse as `name = value` pairs are an error at the first token that
// does not fit.
#![allow(dead_code)]

#[runtime::main(flavor = )]
async fn missing_value() {}

#[runtime::test(flavor = "current_thread" worker_threads = 2)]
async fn missing_comma() {}

fn main() {}
