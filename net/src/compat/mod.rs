//! Adapters to other ecosystems' I/O traits, each behind its own feature (off by default).

#[cfg(feature = "tokio-io")]
mod tokio_io; // tokio's AsyncRead/AsyncWrite for the byte streams
