// `crate = "..."` sends the expansion through the given path instead of `::runtime`: here a
// module that wraps the builder and records that it was used.
use std::sync::atomic::{AtomicBool, Ordering};

mod my_rt {
    use super::{AtomicBool, Ordering};

    pub static USED: AtomicBool = AtomicBool::new(false);

    pub struct Builder;

    impl Builder {
        pub fn new_current_thread() -> ::runtime::Builder {
            USED.store(true, Ordering::SeqCst);
            ::runtime::Builder::new_current_thread()
        }
    }
}

#[runtime::main(crate = "crate::my_rt", flavor = "current_thread")]
async fn run() -> u8 {
    7
}

fn main() {
    assert_eq!(run(), 7);
    assert!(my_rt::USED.load(Ordering::SeqCst));
}
