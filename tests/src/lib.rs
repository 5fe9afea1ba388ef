//! Cross-backend tests live in `tests/`.
