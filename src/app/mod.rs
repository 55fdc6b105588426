//! The application around the pipeline: the command line and its
//! configuration, the walk over files, the parallel runner, interactive
//! review and exit codes.

pub mod cli;
pub mod config;
pub mod exit_code;
pub mod interactive;
pub mod runner;
pub mod walk;
