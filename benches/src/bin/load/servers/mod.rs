//! One file per column family: the same accept loop and handlers
//! ([`crate::handler`]) on each runtime, and the hand-written epoll limit.
//! Every async server sets `TCP_NODELAY`, waits until a new connection is first
//! readable, then runs the workload's handler in a task of its own.

pub mod epoll;
pub mod ours;
pub mod smol;
pub mod tokio;
