//! One file per column family: the same accept loop and handlers
//! ([`crate::handler`]) on each runtime, and the hand-written epoll limit.
//! Every async server sets `TCP_NODELAY` and, in a task per connection, waits for the
//! first byte with a 1-byte `peek` (not `readable()`: tokio's resolves at once for a new
//! socket, which would make its idle connections hold the handler's 4 KiB buffer), then
//! runs the workload's handler.

pub mod epoll;
pub mod ours;
pub mod smol;
pub mod tokio;
