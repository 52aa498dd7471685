// Type errors about the body point into the body as written: a body of the wrong type at
// its last statement, a `?` that cannot convert its error at the `?`, a mistake inside the
// body at the mistake.
#![allow(dead_code)]

#[runtime::main]
async fn wrong_type() -> u32 {
    let x = 1;
    Ok::<u32, ()>(x)
}

#[runtime::main(flavor = "current_thread")]
async fn wrong_error() -> Result<(), std::io::Error> {
    let n: u8 = "1".parse()?;
    let _ = n;
    Ok(())
}

#[runtime::main]
async fn inside() {
    let s: String = 5;
    let _ = s;
}

fn main() {}
