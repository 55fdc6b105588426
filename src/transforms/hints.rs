//! [`Hints`]: the shortcuts a transform allows, from its spec's `[hints]`
//! table, and the one place that both uses and checks them.
//!
//! A hint tells the pipeline where a transform's sites can *not* be, so it
//! can skip work: the literal prefilter ([`Hints::may_match`]), partial
//! parsing ([`Hints::keep_set`]) and query focusing ([`Hints::focus`]). A
//! wrong hint loses sites silently, so every site found is also checked
//! against every hint that could have ruled it out ([`Hints::check_site`]):
//! always in the reference mode (`--no-shortcuts`, where no hint is used and
//! so none can hide a site) and in debug builds (the test suite).

use std::ops::Range;

use regex::bytes::Regex;
use serde::Deserialize;
use tree_sitter::Node;

use crate::python::parse::KindFast;

/// The raw `[hints]` table (stage one of the spec load).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHints {
    triggers: RawTriggers,
    #[serde(default)]
    block_regex: Option<OneOrMany>,
    #[serde(default)]
    file_regex: Option<String>,
    #[serde(default)]
    focus_regex: Option<String>,
    #[serde(default)]
    unfocus_regex: Option<String>,
}

/// A regex, or a list of regexes that must all match.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    /// The file must contain every one of these literals...
    #[serde(default)]
    all: Vec<String>,
    /// ...and at least one of these (when non-empty).
    #[serde(default)]
    any: Vec<String>,
    /// Shorter literals scanned first: every `any` literal, or some `all`
    /// literal, must contain one of them (default: the `any` literals, or the
    /// first `all` literal).
    #[serde(default)]
    gate: Vec<String>,
}

/// The validated hints of one spec (stage two of the load).
#[derive(Debug)]
pub struct Hints {
    pub(crate) triggers: Triggers,
    /// Partial parsing: every site lies in a top-level block (or a member of
    /// a top-level class) matching every one of these regexes, and intersects
    /// a match of the first one itself. Empty: always parse the whole file.
    block_regex: Vec<Regex>,
    /// A file can only match if this regex matches somewhere in it (a finer
    /// prefilter than the literals, checked after them).
    file_regex: Option<Regex>,
    /// The query only needs to look inside the innermost function around
    /// each match of this regex (or at the match, outside functions).
    focus_regex: Option<Regex>,
    /// When this matches somewhere, the focus and the block regexes cannot be
    /// trusted (an alias hides the spelling): the whole file is parsed and
    /// the query looks at all of it.
    unfocus_regex: Option<Regex>,
}

/// Where the query must look in a file (see [`Hints::focus`]).
pub(crate) enum Focus<'h> {
    /// The whole tree.
    Everywhere,
    /// The innermost function around each match (or the match itself).
    Functions(&'h Regex),
    /// The nodes intersecting each match.
    Matches(&'h Regex),
}

/// A site that a hint would have ruled out: an internal error of the
/// transform's spec, never of the user's file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{transform}: {hint} does not match {place} at line {line}")]
pub struct HintMiss {
    pub transform: String,
    /// `triggers`, `file_regex`, `block_regex[0]`, `focus_regex`, `site_context`.
    pub hint: String,
    /// What it should have matched: `the file holding the site`, `the site`, ...
    pub place: &'static str,
    /// 1-based line of the site.
    pub line: usize,
}

impl Hints {
    pub(super) fn load(raw: RawHints) -> Result<Hints, (String, String)> {
        let field = |name: &str, problem: String| (format!("hints.{name}"), problem);
        let triggers = Triggers::new(raw.triggers).map_err(|p| field("triggers", p.into()))?;
        let regex = |name: &str, pattern: Option<&str>| {
            pattern.map(Regex::new).transpose().map_err(|e| field(name, format!("is not a valid regex: {e}")))
        };
        let block_regex = match raw.block_regex {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => vec![p],
            Some(OneOrMany::Many(ps)) if !ps.is_empty() => ps,
            Some(OneOrMany::Many(_)) => return Err(field("block_regex", "is an empty list".into())),
        }
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = format!("block_regex[{i}]");
            // Blocks are matched by position in the whole text (`crate::partial`):
            // a pattern must not behave differently at a block's edges.
            if ["^", "$", "\\A", "\\z", "\\B"].iter().any(|a| p.contains(a)) {
                return Err(field(&name, "must not use anchors (`^`, `$`, `\\A`, `\\z`) or `\\B`".into()));
            }
            let re = Regex::new(p).map_err(|e| field(&name, format!("is not a valid regex: {e}")))?;
            if re.is_match(b"") {
                return Err(field(&name, "matches the empty string".into()));
            }
            Ok(re)
        })
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Hints {
            triggers,
            block_regex,
            file_regex: regex("file_regex", raw.file_regex.as_deref())?,
            focus_regex: regex("focus_regex", raw.focus_regex.as_deref())?,
            unfocus_regex: regex("unfocus_regex", raw.unfocus_regex.as_deref())?,
        })
    }

    /// The prefilter's exact check: whether the trigger literals are all
    /// present and the block and file regexes match somewhere. Every site
    /// sits in a block matching the block regexes, unless an alias hides the
    /// spelling they look for (`from sys import exit as die`, then `die(1)`):
    /// the unfocus regex.
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        self.triggers.may_match(text)
            && (self.block_regex.iter().all(|re| re.is_match(text)) || self.unfocused(text))
            && self.file_regex.as_ref().is_none_or(|re| re.is_match(text))
    }

    /// Whether the focus and block regexes cannot be trusted in `text`.
    pub(crate) fn unfocused(&self, text: &[u8]) -> bool {
        self.unfocus_regex.as_ref().is_some_and(|u| u.is_match(text))
    }

    /// What keeps a top-level statement in a partial parse of `text`, or
    /// `None` if this transform needs the whole file parsed. `site_context`:
    /// what a definition holding a site spells (see
    /// `Transform::site_context`), when only sites are wanted.
    pub(crate) fn keep_set<'h>(
        &'h self,
        text: &[u8],
        site_context: Option<&'h Regex>,
    ) -> Option<crate::partial::KeepSet<'h>> {
        (!self.block_regex.is_empty() && !self.unfocused(text))
            .then_some(crate::partial::KeepSet { all: &self.block_regex, in_definitions: site_context })
    }

    /// Where the query must look. `known_focused`: the caller already knows
    /// the unfocus regex matches nowhere in the file.
    pub(crate) fn focus(&self, text: &[u8], known_focused: bool) -> Focus<'_> {
        let unfocused = !known_focused && self.unfocused(text);
        match (&self.focus_regex, self.block_regex.first()) {
            (Some(re), _) if !unfocused => Focus::Functions(re),
            (None, Some(re)) => Focus::Matches(re),
            _ => Focus::Everywhere,
        }
    }

    /// Checks one site (its byte range in the whole `text`, `root` the tree
    /// it was found in) against every hint that could have ruled it out.
    /// `site_context` is what the transform says a definition holding a site
    /// spells in this file.
    pub(crate) fn check_site(
        &self,
        transform: &str,
        text: &[u8],
        root: Node<'_>,
        site: Range<usize>,
        site_context: Option<&Regex>,
    ) -> Result<(), HintMiss> {
        let line = 1 + memchr::memchr_iter(b'\n', &text[..site.start.min(text.len())]).count();
        let miss =
            |hint: String, place: &'static str| Err(HintMiss { transform: transform.to_owned(), hint, place, line });
        let intersects = |re: &Regex, within: &Range<usize>| {
            re.find_iter(text).any(|m| m.start() < within.end.max(within.start + 1) && within.start < m.end())
        };
        if !self.triggers.may_match(text) {
            return miss("triggers".into(), "the file holding the site");
        }
        if let Some(re) = &self.file_regex
            && !re.is_match(text)
        {
            return miss("file_regex".into(), "the file holding the site");
        }
        let unfocused = self.unfocused(text);
        // Query focusing on the first block regex applies even where the
        // unfocus regex matches (see `Hints::focus`).
        if let Focus::Matches(re) = self.focus(text, false)
            && !intersects(re, &site)
        {
            return miss("block_regex[0]".into(), "the site");
        }
        if unfocused {
            return Ok(());
        }
        if let Some(re) = self.block_regex.first()
            && !intersects(re, &site)
        {
            return miss("block_regex[0]".into(), "the site");
        }
        let block = block_holding(root, site.start);
        for (i, re) in self.block_regex.iter().enumerate() {
            if !block.as_ref().is_some_and(|b| intersects(re, &b.byte_range())) {
                return miss(format!("block_regex[{i}]"), "the block holding the site");
            }
        }
        if let Focus::Functions(re) = self.focus(text, true) {
            let around = innermost_function(root, site.start).map_or(site.clone(), |f| f.byte_range());
            if !re.find_iter(text).any(|m| around.start <= m.start() && m.end() <= around.end) {
                return miss("focus_regex".into(), "the function holding the site");
            }
        }
        if let (Some(re), Some(block)) = (site_context, block)
            && crate::partial::is_definition(&text[block.byte_range()])
            && !re.is_match(&text[block.byte_range()])
        {
            return miss("site_context".into(), "the definition holding the site");
        }
        Ok(())
    }
}

/// The block partial parsing judges a site by: the top-level statement
/// holding byte `at`, or, in a top-level class, the class member holding it.
fn block_holding(root: Node<'_>, at: usize) -> Option<Node<'_>> {
    fn holding(parent: Node<'_>, at: usize) -> Option<Node<'_>> {
        let mut cursor = parent.walk();
        parent.named_children(&mut cursor).find(|c| c.start_byte() <= at && at < c.end_byte().max(c.start_byte() + 1))
    }
    let holding = |parent| holding(parent, at);
    let top = holding(root)?;
    let class = match top.kind_fast() {
        "class_definition" => Some(top),
        "decorated_definition" => top.child_by_field_name("definition").filter(|d| d.kind_fast() == "class_definition"),
        _ => None,
    };
    let member = class.and_then(|c| c.child_by_field_name("body")).and_then(holding);
    Some(member.unwrap_or(top))
}

/// The innermost function definition holding byte `at`.
fn innermost_function(root: Node<'_>, at: usize) -> Option<Node<'_>> {
    let node = root.descendant_for_byte_range(at, at)?;
    std::iter::once(node)
        .chain(crate::python::parse::ancestors(root, node).into_iter().rev())
        .find(|n| n.kind_fast() == "function_definition")
}

/// The literal prefilter: a file can only match if it contains every `all`
/// literal and at least one `any` literal. Files that cannot are never
/// decoded, let alone parsed, so this check runs on every file and must cost
/// as little as possible: `crate::pipeline::prefilter::any_gate` first scans for the
/// `gate` literals of every spec together, chosen so most files hold none;
/// [`Triggers::may_match`] then checks the spec's own gate, if it names one,
/// and the exact conditions (one `memmem` search per literal, with searchers
/// built once).
#[derive(Debug)]
pub(crate) struct Triggers {
    /// The gate literals, for the combined scan of all specs (`crate::pipeline::prefilter`).
    pub(crate) gate_literals: Vec<String>,
    /// Searched first, when the spec names its own gate (fewer literals
    /// than `any`, found in fewer files); a gate taken from `all` or `any`
    /// is their search already.
    gate: Vec<memchr::memmem::Finder<'static>>,
    all_finders: Vec<memchr::memmem::Finder<'static>>,
    any_finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Triggers {
    fn new(raw: RawTriggers) -> Result<Triggers, &'static str> {
        if raw.all.is_empty() && raw.any.is_empty() {
            return Err("needs at least one literal in `all` or `any`");
        }
        if raw.all.iter().chain(&raw.any).chain(&raw.gate).any(|l| l.is_empty()) {
            return Err("holds an empty literal");
        }
        let explicit = !raw.gate.is_empty();
        let gate = if explicit {
            // The gate must be implied by the exact conditions, or it would drop matching files.
            let covers = |lit: &String| raw.gate.iter().any(|g| lit.contains(g.as_str()));
            let implied = (!raw.any.is_empty() && raw.any.iter().all(covers)) || raw.all.iter().any(covers);
            if !implied {
                return Err(
                    "has a `gate` literal set that a matching file need not contain: every `any` literal, or some `all` literal, must contain a `gate` literal",
                );
            }
            raw.gate
        } else if !raw.any.is_empty() {
            raw.any.clone()
        } else {
            raw.all[..1].to_vec()
        };
        let finders = |lits: &[String]| -> Vec<memchr::memmem::Finder<'static>> {
            lits.iter().map(|l| memchr::memmem::Finder::new(l.as_bytes()).into_owned()).collect()
        };
        let own_gate = if explicit { finders(&gate) } else { Vec::new() };
        Ok(Triggers {
            gate_literals: gate,
            gate: own_gate,
            all_finders: finders(&raw.all),
            any_finders: finders(&raw.any),
        })
    }

    /// Whether `text` could match: it holds a gate literal, every `all`
    /// literal (in the spec's order: put the rarest first) and an `any` one.
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        let found = |f: &memchr::memmem::Finder<'_>| f.find(text).is_some();
        (self.gate.is_empty() || self.gate.iter().any(found))
            && self.all_finders.iter().all(found)
            && (self.any_finders.is_empty() || self.any_finders.iter().any(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triggers(toml_text: &str) -> Result<Triggers, &'static str> {
        #[derive(Deserialize)]
        struct T {
            triggers: RawTriggers,
        }
        Triggers::new(toml::from_str::<T>(toml_text).unwrap().triggers)
    }

    #[test]
    fn triggers_check_every_condition_after_the_gate() {
        let t = triggers(r#"triggers = { all = ["sleep", "while"] }"#).unwrap();
        assert!(t.may_match(b"while x: sleep(1)"));
        assert!(!t.may_match(b"while x: pass"), "the gate (first `all` literal) is missing");
        assert!(!t.may_match(b"sleep(1)"), "a later `all` literal is missing");
        let t = triggers(r#"triggers = { any = ["SystemExit", "exit(", "quit("], gate = ["xit", "quit"] }"#).unwrap();
        assert!(t.may_match(b"raise SystemExit(1)") && t.may_match(b"quit()"));
        assert!(!t.may_match(b"def __exit__ (self): pass"), "a gate hit alone is not enough");
        assert!(!t.may_match(b"x = 1"));
    }

    #[test]
    fn a_gate_must_be_implied_by_the_triggers() {
        let err = triggers(r#"triggers = { any = ["SystemExit", "quit("], gate = ["xit"] }"#).err().unwrap();
        assert!(err.starts_with("has a `gate` literal set"), "{err}");
        let err = triggers(r#"triggers = { all = ["while"], gate = [""] }"#).err().unwrap();
        assert_eq!(err, "holds an empty literal");
        assert!(triggers(r#"triggers = { all = ["while", "sleep"], gate = ["eep"] }"#).is_ok());
    }

    fn hints(extra: &str) -> Hints {
        let raw: RawHints = toml::from_str(&format!("triggers = {{ all = [\"while\"] }}\n{extra}")).unwrap();
        Hints::load(raw).unwrap()
    }

    fn check(h: &Hints, src: &str, needle: &str) -> Result<(), HintMiss> {
        let tree = crate::python::parse::parse(src).unwrap();
        let at = src.find(needle).unwrap();
        h.check_site("t", src.as_bytes(), tree.root_node(), at..at + needle.len(), None)
    }

    #[test]
    fn a_site_outside_what_a_hint_keeps_is_named_with_the_hint_and_line() {
        let h = hints(r#"block_regex = ["while[ \\t]*True", "sleep"]"#);
        let src = "import time\n\n\ndef f():\n    while (\n        True\n    ):\n        time.sleep(1)\n";
        let err = check(&h, src, "while (").unwrap_err();
        assert_eq!(err.to_string(), "t: block_regex[0] does not match the site at line 5");
        let ok = "def f():\n    while True:\n        time.sleep(1)\n";
        assert_eq!(check(&h, ok, "while True"), Ok(()));
        // The second regex is judged on the block (here a class member) holding the site.
        let member =
            "class C:\n    def f(self):\n        while True:\n            pass\n\n    def g(self):\n        sleep(1)\n";
        let err = check(&h, member, "while True").unwrap_err();
        assert_eq!((err.hint.as_str(), err.place, err.line), ("block_regex[1]", "the block holding the site", 3));
        let h = hints(r#"file_regex = "nope""#);
        assert_eq!(check(&h, ok, "while True").unwrap_err().hint, "file_regex");
        let h = hints(r#"focus_regex = "sleep""#);
        let elsewhere = "def f():\n    while x:\n        pass\n\n\ndef g():\n    sleep(1)\n";
        assert_eq!(check(&h, elsewhere, "while x").unwrap_err().hint, "focus_regex");
        // An alias hides the spelling: only the triggers and file regex are trusted.
        let h = hints(
            r#"focus_regex = "sleep"
unfocus_regex = "as nap""#,
        );
        assert_eq!(check(&h, &format!("from time import sleep as nap\n{elsewhere}"), "while x"), Ok(()));
    }

    #[test]
    fn the_site_context_is_checked_in_definitions_only() {
        let h = hints(r#"block_regex = "while""#);
        let re = Regex::new("break").unwrap();
        let src = "def f():\n    while x:\n        pass\n";
        let tree = crate::python::parse::parse(src).unwrap();
        let at = src.find("while").unwrap();
        let err = h.check_site("t", src.as_bytes(), tree.root_node(), at..at + 5, Some(&re)).unwrap_err();
        assert_eq!(err.to_string(), "t: site_context does not match the definition holding the site at line 2");
        let top = "while x:\n    pass\n";
        let tree = crate::python::parse::parse(top).unwrap();
        assert_eq!(h.check_site("t", top.as_bytes(), tree.root_node(), 0..5, Some(&re)), Ok(()));
    }
}
