//! Fresh identifiers for names a rewrite introduces.
//!
//! A name is fresh if no word anywhere in the file spells it. That is
//! stricter than scope analysis needs, but it can never be wrong: a new
//! `_deadline` cannot shadow a global, a closure variable or an attribute read
//! through `globals()`.

use std::collections::HashSet;

/// Every identifier spelled in the file, plus names already handed out.
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// Every identifier-like word of the text, in code, strings and comments
    /// alike. Scanning text rather than the tree gives the same answer whether
    /// the file was parsed whole or partially (see `crate::blocks`).
    pub fn of_file(src: &str) -> Names {
        let mut taken = HashSet::new();
        let bytes = src.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        let mut i = 0;
        while i < bytes.len() {
            if word(bytes[i]) {
                let start = i;
                while i < bytes.len() && word(bytes[i]) {
                    i += 1;
                }
                if !bytes[start].is_ascii_digit() {
                    taken.insert(src[start..i].to_owned());
                }
            } else {
                i += 1;
            }
        }
        Names { taken }
    }

    /// Returns `base`, or `base_2`, `base_3`, ... whichever is free, and
    /// reserves it.
    pub fn fresh(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }

    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avoids_every_spelled_identifier() {
        let src = "_deadline = 1\ndef f(_deadline_2):\n    pass\n";
        let mut names = Names::of_file(src);
        assert_eq!(names.fresh("_deadline"), "_deadline_3");
        assert_eq!(names.fresh("_deadline"), "_deadline_4");
        assert_eq!(names.fresh("exc"), "exc");
    }
}
