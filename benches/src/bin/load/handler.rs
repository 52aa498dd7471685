//! The connection handlers of the async columns, written once per I/O trait family:
//! `futures_io` (ours and smol) and tokio's. Each starts once the first byte has arrived
//! (the server waits for it with a 1-byte `peek`), so an idle connection holds no buffer.

/// One handler module over one family of I/O traits: the same code for every column, so
/// the columns differ only in their runtime.
macro_rules! handlers {
    ($(#[$doc:meta])* $name:ident, $read:ident, $write:ident, $($traits:tt)+) => {
        $(#[$doc])*
        pub mod $name {
            use crate::workload::{BUFFER, Http};
            use $($traits)+::{$read, AsyncReadExt, $write, AsyncWriteExt};

            /// Echoes until the peer closes or an error.
            pub async fn echo(mut stream: impl $read + $write + Unpin) {
                let mut buf = vec![0; BUFFER];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }

            /// Answers http requests until the peer closes, an error or an oversized head.
            pub async fn http(mut stream: impl $read + $write + Unpin) {
                let mut http = Http::new();
                loop {
                    let n = match stream.read(http.spare()).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let Some(out) = http.filled(n) else { return };
                    if !out.is_empty() && stream.write_all(out).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
}

handlers!(
    /// Handlers over `futures_io::AsyncRead + AsyncWrite` (ours, smol).
    futures_io, AsyncRead, AsyncWrite, futures_util::io
);
handlers!(
    /// The same for tokio's `AsyncRead + AsyncWrite`.
    tokio_io, AsyncRead, AsyncWrite, tokio::io
);
