// `#[runtime::main]` with no arguments runs `main` on the multi-thread runtime: a task it
// spawns runs on a worker, another thread named like the builder's default, not on the
// thread that called `main`.
#[runtime::main]
async fn main() {
    let here = std::thread::current().id();
    let (id, name) = runtime::spawn(async {
        let me = std::thread::current();
        (me.id(), me.name().map(str::to_owned))
    })
    .await
    .unwrap();
    assert_ne!(id, here, "the spawned task ran on the thread that called `main`");
    assert_eq!(name.as_deref(), Some("runtime-worker"));
}
