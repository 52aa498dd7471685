// `main` may return a `Result`: `?` converts errors into the declared error type, and
// `return` leaves the body early with a value of the function's return type.
use std::io;

#[runtime::main]
async fn main() -> io::Result<()> {
    let n: u32 = "7".parse().map_err(io::Error::other)?;
    if n == 7 {
        return Ok(());
    }
    Err(io::Error::other("unreachable"))
}
