// A `crate` path that does not resolve is reported at the string the user wrote.
#[runtime::main(crate = "missing")]
async fn main() {}
