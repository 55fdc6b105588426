//! Verification of rewritten text: it must parse with no more error regions
//! than the input had. tame never writes a file that fails this.

use thiserror::Error;
use tree_sitter::Tree;

use crate::python::parse;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(
        "internal error: the rewrite does not parse ({after} error regions, input had {before}); the file was left untouched"
    )]
    NewSyntaxErrors { before: usize, after: usize },
    #[error("internal error: the rewrite could not be re-parsed; the file was left untouched")]
    Unparsable,
}

/// Parses `text` and checks it has at most `errors_before` error regions.
pub fn verify(text: &str, errors_before: usize) -> Result<Tree, VerifyError> {
    let tree = parse::parse(text).map_err(|_| VerifyError::Unparsable)?;
    let after = parse::error_ranges(&tree).len();
    if after > errors_before {
        return Err(VerifyError::NewSyntaxErrors { before: errors_before, after });
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_new_errors_only() {
        assert!(verify("x = 1\n", 0).is_ok());
        assert!(verify("def f(:\n", 0).is_err());
        assert!(verify("def f(:\n", 1).is_ok());
    }
}
