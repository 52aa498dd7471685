// `start_paused` takes a bool literal; anything else is an error at the value, and a bare
// `start_paused` says how to write it.
#![allow(dead_code)]

#[runtime::test(start_paused = "yes")]
async fn string() {}

#[runtime::test(start_paused)]
async fn bare() {}

fn main() {}
