//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::id::Id;

/// A task did not run to completion: it was cancelled, or it panicked.
///
/// Returned by awaiting a [`JoinHandle`](super::JoinHandle). A task is cancelled by
/// [`JoinHandle::abort`](super::JoinHandle::abort), by runtime shutdown, or when the
/// blocking pool could not start a thread for it (the error then carries that
/// `io::Error` as its [`source`](Error::source)).
///
/// # Examples
///
/// ```
/// # fn check(err: runtime::task::JoinError) {
/// if err.is_panic() {
///     // Re-raise the task's panic on this thread.
///     std::panic::resume_unwind(err.into_panic());
/// }
/// # }
/// ```
///
/// A task spawned with a name ([`task::Builder::name`](super::Builder::name)) carries it
/// into its `JoinError`: [`name`](JoinError::name), `Display` and `Debug` show it.
pub struct JoinError {
    repr: Repr,
    id: Id,
    name: Option<Arc<str>>,
}

enum Repr {
    Cancelled,
    SpawnFailed(io::Error),
    /// The payload is `Send` but not `Sync`; the mutex makes `JoinError: Sync`
    /// (so it fits in an `io::Error`) without unsafe code. Nobody contends for it.
    /// Boxed so `Repr` is two words: every task's stage holds a `Result<T, JoinError>`,
    /// so its size is paid by every task, and a panic is the cold path.
    Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>),
}

impl JoinError {
    /// The task was aborted or shut down before it finished.
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
            id,
            name: None,
        }
    }

    /// The task's future panicked while being polled.
    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Box::new(Mutex::new(payload))),
            id,
            name: None,
        }
    }

    /// The blocking pool could not spawn a thread to run the task. Reports
    /// [`is_cancelled`](JoinError::is_cancelled); the `io::Error` is its source.
    pub(crate) fn spawn_failed(id: Id, err: io::Error) -> JoinError {
        JoinError {
            repr: Repr::SpawnFailed(err),
            id,
            name: None,
        }
    }

    /// The same error, for the task named `name`.
    pub(crate) fn with_name(self, name: Option<Arc<str>>) -> JoinError {
        JoinError { name, ..self }
    }

    /// The name of the task that failed, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Returns `true` if the task never finished because it was cancelled
    /// (aborted, shut down with its runtime, or never started).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled | Repr::SpawnFailed(_))
    }

    /// Returns `true` if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Consumes the error, returning the task's panic payload.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic. Check [`is_panic`](JoinError::is_panic)
    /// first, or use [`try_into_panic`](JoinError::try_into_panic).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => panic!(
                "`JoinError::into_panic` called on `{err}`, which is not a panic; \
                 check `is_panic()` first or use `try_into_panic()`"
            ),
        }
    }

    /// Consumes the error, returning the task's panic payload, or the error itself
    /// if the task did not panic.
    ///
    /// # Errors
    ///
    /// Returns `self` unchanged if the task was cancelled rather than panicking.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok((*payload).into_inner()),
            repr => Err(JoinError { repr, ..self }),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else {
            return None;
        };
        let payload = payload.lock();
        let message = payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        message.map(str::to_owned)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task ")?;
        if let Some(name) = &self.name {
            write!(f, "{name:?} ")?;
        }
        match &self.repr {
            Repr::Cancelled => f.write_str("was cancelled"),
            Repr::SpawnFailed(err) => write!(f, "could not start: {err}"),
            Repr::Panic(_) => match self.panic_message() {
                Some(message) => write!(f, "panicked with message {message:?}"),
                None => f.write_str("panicked"),
            },
        }
    }
}

/// `JoinError::Cancelled`, `JoinError::Panic("message")`, `JoinError::SpawnFailed(err)`;
/// for a named task the name comes first: `JoinError::Cancelled { name: "conn" }`,
/// `JoinError::Panic { name: "conn", message: "boom" }`.
impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            return self.fmt_named(name, f);
        }
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::SpawnFailed(err) => f.debug_tuple("JoinError::SpawnFailed").field(err).finish(),
            Repr::Panic(_) => match self.panic_message() {
                Some(message) => f.debug_tuple("JoinError::Panic").field(&message).finish(),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl JoinError {
    /// The `Debug` form of a named task's error.
    fn fmt_named(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = match &self.repr {
            Repr::Cancelled => f.debug_struct("JoinError::Cancelled"),
            Repr::SpawnFailed(_) => f.debug_struct("JoinError::SpawnFailed"),
            Repr::Panic(_) => f.debug_struct("JoinError::Panic"),
        };
        d.field("name", &name);
        match &self.repr {
            Repr::Cancelled => {}
            Repr::SpawnFailed(err) => {
                d.field("error", err);
            }
            Repr::Panic(_) => {
                match self.panic_message() {
                    Some(message) => d.field("message", &message),
                    None => d.field("message", &format_args!("..")),
                };
            }
        }
        d.finish()
    }
}

impl Error for JoinError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            Repr::SpawnFailed(err) => Some(err),
            Repr::Cancelled | Repr::Panic(_) => None,
        }
    }
}

/// A failed spawn gives back its OS error unchanged (`raw_os_error` survives);
/// a cancelled or panicked task becomes `ErrorKind::Other` wrapping the `JoinError`.
impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        match err.repr {
            Repr::SpawnFailed(err) => err,
            repr => io::Error::other(JoinError { repr, ..err }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_is_cancelled_and_not_a_panic() {
        let err = JoinError::cancelled(Id::next());
        assert!(err.is_cancelled() && !err.is_panic());
        assert_eq!(err.to_string(), "task was cancelled");
        assert_eq!(format!("{err:?}"), "JoinError::Cancelled");
        assert!(err.try_into_panic().unwrap_err().is_cancelled());
    }

    #[test]
    fn panic_keeps_its_payload_and_message() {
        let err = JoinError::panic(Id::next(), Box::new("boom"));
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.to_string(), "task panicked with message \"boom\"");
        assert_eq!(format!("{err:?}"), "JoinError::Panic(\"boom\")");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[test]
    fn panic_with_non_string_payload_still_displays() {
        let err = JoinError::panic(Id::next(), Box::new(7_u32));
        assert_eq!(err.to_string(), "task panicked");
        assert_eq!(format!("{err:?}"), "JoinError::Panic(..)");
        assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&7));
    }

    #[test]
    #[should_panic(expected = "not a panic")]
    fn into_panic_of_cancelled_error_panics() {
        let _ = JoinError::cancelled(Id::next()).into_panic();
    }

    #[test]
    fn spawn_failed_reports_cancelled_and_passes_the_os_error_through() {
        let err = JoinError::spawn_failed(Id::next(), io::Error::from_raw_os_error(11));
        assert!(err.is_cancelled() && !err.is_panic());
        assert!(err.to_string().starts_with("task could not start: "));
        assert!(err.source().is_some());
        let io_err = io::Error::from(err);
        assert_eq!(io_err.raw_os_error(), Some(11));
    }

    #[test]
    fn cancelled_converts_to_io_error_that_downcasts_back() {
        let io_err = io::Error::from(JoinError::cancelled(Id::next()));
        assert_eq!(io_err.kind(), io::ErrorKind::Other);
        let inner = io_err
            .into_inner()
            .unwrap()
            .downcast::<JoinError>()
            .unwrap();
        assert!(inner.is_cancelled());
    }

    #[test]
    fn a_named_error_shows_its_name() {
        let name: Arc<str> = Arc::from("conn 10.0.0.7");
        let err = JoinError::cancelled(Id::next()).with_name(Some(name.clone()));
        assert_eq!(err.name(), Some("conn 10.0.0.7"));
        assert_eq!(err.to_string(), "task \"conn 10.0.0.7\" was cancelled");
        assert_eq!(
            format!("{err:?}"),
            "JoinError::Cancelled { name: \"conn 10.0.0.7\" }"
        );
        let err = JoinError::panic(Id::next(), Box::new("boom")).with_name(Some(name));
        assert_eq!(
            format!("{err:?}"),
            "JoinError::Panic { name: \"conn 10.0.0.7\", message: \"boom\" }"
        );
    }

    #[test]
    fn join_error_is_send_sync_static() {
        fn assert_error<E: Error + Send + Sync + 'static>() {}
        assert_error::<JoinError>();
    }
}
