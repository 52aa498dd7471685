//! TCP: [`TcpListener`], [`TcpStream`], and [`TcpSocket`] for options before bind or
//! connect.

mod listener;
mod socket;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use stream::TcpStream;
