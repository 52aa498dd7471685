//! Socket test helpers.
