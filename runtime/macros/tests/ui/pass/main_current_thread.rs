// `flavor = "current_thread"` is accepted on `main`, and the body runs to completion.
#[runtime::main(flavor = "current_thread")]
async fn main() {
    let answer = async { 42 }.await;
    assert_eq!(answer, 42);
}
