// Every mistake is reported, each at its own place, and the function is still expanded
// (else rustc would add "`main` function is not allowed to be `async`").
#[runtime::main(flavor = "current", worker_threads = 0, bogus = 1)]
async fn main(argc: i32) {
    let _ = argc;
}
