//! One file through tame ([`engine::process`]): decode ([`source`]),
//! prefilter ([`prefilter`]), parse (whole, or partially: `crate::partial`),
//! run the transforms, apply their [`edits`] to a fixpoint, [`verify`] the
//! result; suppression comments ([`suppress`]); and the [`oracle`] that holds
//! the shortcuts to the reference mode.

pub mod edits;
pub mod engine;
pub mod oracle;
pub(crate) mod prefilter;
pub mod source;
pub(crate) mod suppress;
pub(crate) mod unused;
pub(crate) mod verify;
