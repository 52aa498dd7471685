// `main` cannot take arguments: an error at the arguments.
#[runtime::main]
async fn main(argc: i32, argv: Vec<String>) {
    let _ = (argc, argv);
}
