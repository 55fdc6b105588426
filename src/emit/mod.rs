//! What tame shows and writes: unified [`diff`]s, text/JSON/GitHub
//! [`output`] and [`statistics`], [`sarif`], the Markdown migration
//! [`report`], and atomic in-place [`write`]s.

pub mod diff;
pub mod output;
pub mod report;
pub mod sarif;
pub mod statistics;
pub mod write;
