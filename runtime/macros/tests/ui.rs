//! Compile-time behaviour of `#[runtime::main]` and `#[runtime::test]`, through trybuild.
//!
//! `ui/pass/*.rs` must compile and then run to a successful exit; `ui/fail/*.rs` must fail
//! with exactly the diagnostics in the `.stderr` beside each, which pins where each error
//! points. The cases build against the real `runtime` (a dev-dependency). Regenerate the
//! snapshots with `TRYBUILD=overwrite cargo test -p runtime-macros --test ui`, then read them:
//! a changed caret is a changed contract.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
