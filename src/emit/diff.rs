//! Unified diffs that `git apply` and `patch -p1` accept, byte for byte.
//!
//! Diffs are computed on the file's bytes (not its decoded text), so a Latin-1
//! or BOM file's diff applies to exactly the bytes on disk, and the diff is
//! exactly what `tame fix` writes.

use similar::TextDiff;

/// The unified diff of `old` to `new` with `a/<path>` and `b/<path>` headers.
pub fn unified(path: &str, old: &[u8], new: &[u8]) -> Vec<u8> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    diff.unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Adds ANSI colours to a unified diff, line by line.
pub fn colorize(diff: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(diff.len() + diff.len() / 8);
    for line in diff.split_inclusive(|&b| b == b'\n') {
        let color: &[u8] = if line.starts_with(b"+++") || line.starts_with(b"---") {
            b"\x1b[1m"
        } else if line.starts_with(b"@@") {
            b"\x1b[36m"
        } else if line.starts_with(b"+") {
            b"\x1b[32m"
        } else if line.starts_with(b"-") {
            b"\x1b[31m"
        } else {
            b""
        };
        if color.is_empty() {
            out.extend_from_slice(line);
            continue;
        }
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, &b"\n"[..]),
            None => (line, &b""[..]),
        };
        out.extend_from_slice(color);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\x1b[0m");
        out.extend_from_slice(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_missing_newline() {
        let d = String::from_utf8(unified("pkg/m.py", b"a\nb", b"a\nc")).unwrap();
        assert!(d.starts_with("--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1,2 +1,2 @@\n"), "{d}");
        assert!(d.contains("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file"), "{d}");
    }

    #[test]
    fn colour_wraps_changed_lines() {
        let c = colorize(b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(c, b"\x1b[1m--- a/x\x1b[0m\n\x1b[1m+++ b/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\x1b[31m-a\x1b[0m\n\x1b[32m+b\x1b[0m\n");
    }
}
