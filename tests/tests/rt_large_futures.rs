//! Large futures run where tokio runs them: every entry point (`block_on`, `spawn`,
//! `spawn_local`, `Handle::spawn`, `Runtime::spawn`) moves a large future to the heap in
//! its first frame, so its size is paid on the stack at most once more than the caller
//! pays it.
//!
//! A debug build (what CI runs) copies a by-value argument into the caller's frame at
//! every call, so a future passed to an entry point sits on the stack twice whatever the
//! runtime does: once where the caller built it, once in the entry point's frame, which
//! boxes it. Each case runs on a thread with a 2 MiB stack (what a `#[test]` thread
//! gets), or, in a debug build, `2 * size + 1 MiB` if that is more (3 MiB for the 1 MiB
//! future; before the entry points boxed, it needed over ten times its size).
//!
//! A stack overflow aborts the whole process, so each case runs in a child process of this
//! test binary; the parent checks the child exited cleanly, and a regression is one
//! failing test instead of a crashed suite.

use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::thread;
use std::time::Duration;

use runtime::Runtime;
use tests::net::{SelfChild, child_mode};
use tests::rt::Flavor;

const MODE: &str = "RT_LARGE_FUTURES_CHILD";
const CHILD: &str = "child_body_runs_one_large_future";
const MARKER: &str = "LARGE-FUTURE-DONE";
const LIMIT: Duration = Duration::from_secs(20);
/// A `#[test]` thread's default stack (`RUST_MIN_STACK` unset).
const STACK: usize = 2 * 1024 * 1024;

/// The stack a case with a `size`-byte future runs on (see the file's docs).
fn stack_for(size: usize) -> usize {
    if cfg!(debug_assertions) {
        STACK.max(2 * size + MIB_1)
    } else {
        STACK
    }
}

const KIB_256: usize = 256 * 1024;
const MIB_1: usize = 1024 * 1024;

tests::rt_test! {
    // Proves a future holding 256 KiB across an `.await` runs through block_on, spawn,
    // Handle::spawn, Runtime::spawn and spawn_local on a 2 MiB thread (each in a child).
    fn a_256_kib_future_runs_on_a_2_mib_thread_through_every_entry_point(flavor) {
        assert_every_entry_point_runs(flavor, KIB_256);
    }

    // Proves the same for a future holding 1 MiB: on a 2 MiB thread in a release build,
    // on a 3 MiB one in a debug build (the caller's copy and the entry point's: see the
    // file's docs).
    fn a_1_mib_future_runs_on_a_small_stack_through_every_entry_point(flavor) {
        assert_every_entry_point_runs(flavor, MIB_1);
    }
}

/// The entry points a case goes through on `flavor`.
fn entry_points(flavor: Flavor) -> Vec<&'static str> {
    let mut entries = vec!["block_on", "spawn", "handle_spawn", "runtime_spawn"];
    // `spawn_local` is defined for the current-thread flavor.
    if flavor == Flavor::CurrentThread {
        entries.push("spawn_local");
    }
    entries
}

fn assert_every_entry_point_runs(flavor: Flavor, size: usize) {
    assert!(
        future_size(large::<KIB_256>) >= KIB_256,
        "the array is in the future's state"
    );
    assert!(
        future_size(large::<MIB_1>) >= MIB_1,
        "the array is in the future's state"
    );
    let children: Vec<_> = entry_points(flavor)
        .into_iter()
        .map(|entry| {
            let mode = format!("{flavor:?} {entry} {size}");
            (entry, SelfChild::spawn(CHILD, MODE, &mode))
        })
        .collect();
    let mut failures = Vec::new();
    for (entry, child) in children {
        let out = child.finish(LIMIT);
        if !(out.status.success() && out.stdout.iter().any(|l| l.contains(MARKER))) {
            failures.push(format!(
                "{entry}: the child {} (signal {:?}, killed for overrunning: {})\n\
                 stdout: {:?}\nstderr: {}",
                out.status,
                out.status.signal(),
                out.killed,
                out.stdout,
                out.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "a {size}-byte future on a {}-byte stack failed through:\n{}",
        stack_for(size),
        failures.join("\n")
    );
}

/// The child process body, run only by the tests above (`--ignored --exact` with MODE set
/// to "<flavor> <entry point> <size>").
#[test]
#[ignore = "child-process body: run by the large-future tests in this file"]
fn child_body_runs_one_large_future() {
    let Some(mode) = child_mode(MODE) else { return };
    let [flavor, entry, size] = mode.split(' ').collect::<Vec<_>>()[..] else {
        panic!("bad mode {mode:?}")
    };
    let flavor = [Flavor::CurrentThread, Flavor::MultiThread]
        .into_iter()
        .find(|f| format!("{f:?}") == flavor)
        .unwrap_or_else(|| panic!("unknown flavor {flavor:?}"));
    let entry = entry.to_owned();
    let size: usize = size.parse().expect("a size in bytes");
    let worker = thread::Builder::new()
        .name(format!("{entry}-{size}"))
        .stack_size(stack_for(size))
        .spawn(move || match size {
            KIB_256 => run::<KIB_256>(flavor, &entry),
            MIB_1 => run::<MIB_1>(flavor, &entry),
            _ => panic!("no case for {size} bytes"),
        })
        .expect("spawning the small-stack thread");
    assert_eq!(worker.join().expect("the small-stack thread panicked"), 1);
    println!("\n{MARKER}");
}

/// Runs `large::<N>()` through `entry` on a fresh runtime. Each entry point has its own
/// function: a debug build gives every temporary of a frame its own stack slot, so a frame
/// naming the large future more than once would overflow by itself.
fn run<const N: usize>(flavor: Flavor, entry: &str) -> u8 {
    if entry == "spawn_local" {
        // spawn_local lives on a LocalRuntime, the current-thread flavor's own.
        let rt = runtime::Builder::new_current_thread()
            .build_local()
            .expect("building a LocalRuntime");
        return through_spawn_local::<N>(&rt);
    }
    let rt = flavor.build();
    match entry {
        "block_on" => through_block_on::<N>(&rt),
        "spawn" => through_spawn::<N>(&rt),
        "handle_spawn" => through_handle_spawn::<N>(&rt),
        "runtime_spawn" => through_runtime_spawn::<N>(&rt),
        _ => panic!("unknown entry point {entry:?}"),
    }
}

#[inline(never)]
fn through_block_on<const N: usize>(rt: &Runtime) -> u8 {
    rt.block_on(large::<N>())
}

#[inline(never)]
fn through_spawn<const N: usize>(rt: &Runtime) -> u8 {
    rt.block_on(async { runtime::spawn(large::<N>()).await.unwrap() })
}

#[inline(never)]
fn through_handle_spawn<const N: usize>(rt: &Runtime) -> u8 {
    let task = rt.handle().spawn(large::<N>());
    rt.block_on(task).unwrap()
}

#[inline(never)]
fn through_runtime_spawn<const N: usize>(rt: &Runtime) -> u8 {
    let task = rt.spawn(large::<N>());
    rt.block_on(task).unwrap()
}

#[inline(never)]
fn through_spawn_local<const N: usize>(rt: &runtime::LocalRuntime) -> u8 {
    rt.block_on(async { runtime::task::spawn_local(large::<N>()).await.unwrap() })
}

/// A future holding `N` bytes across an `.await`, so they are part of its state.
async fn large<const N: usize>() -> u8 {
    let mut state = [0u8; N];
    black_box(&mut state);
    state[N - 1] = 1;
    runtime::task::yield_now().await;
    black_box(&state)[N - 1]
}

/// The size of the future `f` returns, without making one.
fn future_size<F>(_: fn() -> F) -> usize {
    std::mem::size_of::<F>()
}
