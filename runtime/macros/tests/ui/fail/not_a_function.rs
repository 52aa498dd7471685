// On anything but a function the attribute reports an error and leaves the item as it was.
#[runtime::main]
struct NotAFunction;

fn main() {
    let _ = NotAFunction;
}
