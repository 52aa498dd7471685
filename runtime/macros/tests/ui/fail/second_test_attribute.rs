// `#[runtime::test]` adds `#[test]` itself, so a second one is an error at that attribute.
#[runtime::test]
#[test]
async fn plain() {}

#[runtime::test(flavor = "multi_thread")]
#[::core::prelude::v1::test]
async fn prelude_path() {}

fn main() {}
