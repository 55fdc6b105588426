//! Fresh identifiers for names a rewrite introduces.
//!
//! A name is fresh if no word anywhere in the file spells it (in code,
//! strings or comments alike) and it was not handed out before. That is
//! stricter than scope analysis needs, but it can never be wrong: a new
//! `_deadline` cannot shadow a global, a closure variable or an attribute read
//! through `globals()`. Searching the text rather than the tree gives the same
//! answer whether the file was parsed whole or partially (see `crate::partial`).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// The file's text, plus names already handed out.
pub struct Names<'a> {
    text: &'a str,
    given: HashSet<String>,
    /// Whether the text spells a name, per name asked about: each answer
    /// costs a search of the whole file, and a rewrite asks about the same
    /// names several times (once per loop, and again to reserve them).
    spelled: RefCell<HashMap<String, bool>>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Names<'a> {
    pub fn of_file(text: &'a str) -> Names<'a> {
        Names { text, given: HashSet::new(), spelled: RefCell::default() }
    }

    /// Whether `name` is spelled as a whole word in the file (or was handed out).
    pub fn contains(&self, name: &str) -> bool {
        if self.given.contains(name) {
            return true;
        }
        if let Some(&known) = self.spelled.borrow().get(name) {
            return known;
        }
        let bytes = self.text.as_bytes();
        let found = memchr::memmem::find_iter(bytes, name.as_bytes()).any(|at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + name.len()).copied();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        });
        self.spelled.borrow_mut().insert(name.to_owned(), found);
        found
    }

    /// Returns `base`, or `base_2`, `base_3`, ... whichever is free, and
    /// reserves it.
    pub fn fresh(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut n = 2;
        while self.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.given.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avoids_every_spelled_word() {
        let src = "_deadline = 1\ndef f(_deadline_2):\n    pass  # exc\n";
        let mut names = Names::of_file(src);
        assert_eq!(names.fresh("_deadline"), "_deadline_3");
        assert_eq!(names.fresh("_deadline"), "_deadline_4");
        assert_eq!(names.fresh("exc"), "exc_2", "words in comments count");
        assert_eq!(names.fresh("dead"), "dead", "only whole words count");
        assert!(names.contains("dead"));
    }
}
