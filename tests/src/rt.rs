//! Runtime test helpers.
