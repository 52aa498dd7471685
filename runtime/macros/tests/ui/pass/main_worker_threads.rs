// `worker_threads = N` is accepted alone (main defaults to multi_thread) and next to an
// explicit `flavor = "multi_thread"`, in either order; a suffixed literal works too.
// `#[runtime::main]` also works on a function other than `main`, which may take arguments
// and return any type: it is a synchronous entry point into async code.
#[runtime::main(worker_threads = 1)]
async fn one(x: u32) -> u32 {
    x + 1
}

#[runtime::main(flavor = "multi_thread", worker_threads = 4)]
async fn four() -> &'static str {
    "four"
}

#[runtime::main(worker_threads = 2usize, flavor = "multi_thread",)]
async fn two() -> u8 {
    2
}

fn main() {
    assert_eq!(one(1), 2);
    assert_eq!(four(), "four");
    assert_eq!(two(), 2);
}
