//! Integration tests: one binary that runs the real `tame` executable.
//!
//! - `fixtures`: every `tests/fixtures/<transform>/*.py` case is run through
//!   `fix --dry-run` and `check --explain` (insta snapshots in `snapshots/`),
//!   and every rewrite is verified: it applies with `git apply`, equals what
//!   `tame fix` writes, a second run changes nothing, and CPython compiles it.
//! - the other modules test the CLI contract, safety and behaviour.

mod bounded_retry;
mod common;
mod contract;
mod driver_load_error;
mod fixtures;
mod monotonic_deadline;
mod oracle;
mod properties;
mod ruff_habits;
mod safety;
mod workflow;
