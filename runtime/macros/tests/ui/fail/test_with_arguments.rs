// A test cannot take arguments: an error at the arguments.
#[runtime::test]
async fn takes_an_argument(x: u8) {
    let _ = x;
}

fn main() {}
