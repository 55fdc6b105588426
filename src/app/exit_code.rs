//! The documented exit codes (README "Exit codes", and `tame --help`).

/// Success: nothing to change, or changes written or previewed.
pub const SUCCESS: u8 = 0;
/// `tame check` found sites to change (not with `--exit-zero`).
pub const SITES_FOUND: u8 = 1;
/// An error: bad arguments or configuration, a missing path, or a file that
/// could not be read, parsed safely or written. Other files were still processed.
pub const ERROR: u8 = 2;

/// The text shown at the end of `tame --help`.
pub const HELP: &str = "\
Exit codes:
  0  success: nothing to change, or changes written or previewed
  1  `tame check` found sites to change (0 with --exit-zero)
  2  error: bad arguments, a missing path, or a file that could not be read,
     parsed safely or written (other files are still processed; each error
     is printed to stderr with its path and reason)";
