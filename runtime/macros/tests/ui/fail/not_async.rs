// Both attributes need an `async fn`: an error at the `fn` keyword. The function is still
// expanded, so there is no second error about it.
#[runtime::test]
fn sync_test() {}

#[runtime::main]
fn main() {}
