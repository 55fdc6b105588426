//! One file through tame ([`engine::process`]): decode ([`source`]),
//! prefilter ([`prefilter`]), parse (whole, or partially: `crate::partial`),
//! run the transforms, apply their [`edits`] to a fixpoint, [`verify`] the
//! result; suppression comments ([`suppress`], [`directive`]); regions that
//! could not be parsed ([`unparsed`]); and the [`oracle`] that holds
//! the shortcuts to the reference mode.

pub(crate) mod directive;
pub mod edits;
pub mod engine;
pub mod oracle;
pub(crate) mod prefilter;
pub mod source;
pub(crate) mod suppress;
pub(crate) mod unparsed;
pub(crate) mod unused;
pub(crate) mod verify;
