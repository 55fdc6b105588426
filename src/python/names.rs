//! Fresh identifiers for names a rewrite introduces.
//!
//! A name is fresh if no identifier anywhere in the file spells it. That is
//! stricter than scope analysis needs, but it can never be wrong: a new
//! `_deadline` cannot shadow a global, a closure variable or an attribute read
//! through `globals()`.

use std::collections::HashSet;

use tree_sitter::Node;

/// Every identifier spelled in the file, plus names already handed out.
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    pub fn of_file(root: Node<'_>, src: &str) -> Names {
        let mut taken = HashSet::new();
        crate::parse::walk(
            root,
            |_| true,
            |n| {
                if n.kind() == "identifier" {
                    taken.insert(crate::parse::text(n, src).to_owned());
                }
            },
        );
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
        let tree = crate::parse::parse(src).unwrap();
        let mut names = Names::of_file(tree.root_node(), src);
        assert_eq!(names.fresh("_deadline"), "_deadline_3");
        assert_eq!(names.fresh("_deadline"), "_deadline_4");
        assert_eq!(names.fresh("exc"), "exc");
    }
}
