//! Adapters to other ecosystems' traits, each behind its own feature (off by default).

#[cfg(feature = "hyper")]
pub mod hyper; // hyper 1.x's rt::Read/Write for the byte streams, an rt::Executor, an rt::Timer
#[cfg(feature = "tokio-io")]
mod tokio_io; // tokio's AsyncRead/AsyncWrite for the byte streams
