//! TCP: [`TcpListener`], [`TcpStream`] (and its owned halves), and [`TcpSocket`] for options before bind or
//! connect.

mod listener;
mod socket;
mod split_owned;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;
