//! Transform specs: the TOML files in `transforms/`, loaded in two stages.
//!
//! Stage one deserializes the raw file with serde, rejecting unknown fields.
//! Stage two validates it (every documentation field present and non-empty,
//! option defaults of the declared type, the query compiles) into a [`Spec`].
//! Errors name the file and the field.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;
use tree_sitter::Query;

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: field `{field}` {problem}")]
    Field { file: String, field: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    id: String,
    summary: String,
    query: String,
    triggers: RawTriggers,
    #[serde(default)]
    block_regex: Option<OneOrMany>,
    #[serde(default)]
    file_regex: Option<String>,
    #[serde(default)]
    focus_regex: Option<String>,
    #[serde(default)]
    unfocus_regex: Option<String>,
    docs: RawDocs,
    #[serde(default)]
    options: Vec<RawOption>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocs {
    what: Option<String>,
    why: Option<String>,
    before: Option<String>,
    after: Option<String>,
    fix_safety: Option<String>,
    callers: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    default: toml::Value,
    doc: String,
    #[serde(default)]
    cli: Option<String>,
}

/// The value types an option can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Integer,
    Float,
    String,
    StringList,
}

impl OptionKind {
    pub fn name(self) -> &'static str {
        match self {
            OptionKind::Integer => "integer",
            OptionKind::Float => "float",
            OptionKind::String => "string",
            OptionKind::StringList => "list of strings",
        }
    }

    /// Checks (and for floats, widens) a value.
    pub fn check(self, v: &toml::Value) -> Option<toml::Value> {
        match (self, v) {
            (OptionKind::Integer, toml::Value::Integer(_)) => Some(v.clone()),
            (OptionKind::Float, toml::Value::Float(_)) => Some(v.clone()),
            (OptionKind::Float, toml::Value::Integer(i)) => Some(toml::Value::Float(*i as f64)),
            (OptionKind::String, toml::Value::String(_)) => Some(v.clone()),
            (OptionKind::StringList, toml::Value::Array(a)) if a.iter().all(|x| x.is_str()) => Some(v.clone()),
            _ => None,
        }
    }

    /// Parses a command-line value of this kind.
    pub fn parse_cli(self, s: &str) -> Option<toml::Value> {
        match self {
            OptionKind::Integer => s.parse().ok().map(toml::Value::Integer),
            OptionKind::Float => s.parse().ok().map(toml::Value::Float),
            OptionKind::String => Some(toml::Value::String(s.to_owned())),
            OptionKind::StringList => {
                Some(toml::Value::Array(s.split(',').map(|x| toml::Value::String(x.trim().to_owned())).collect()))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct OptionSpec {
    pub name: String,
    pub kind: OptionKind,
    pub default: toml::Value,
    pub doc: String,
    /// The command-line flag that sets it, if any (`--max-attempts`).
    pub cli: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Docs {
    pub what: String,
    pub why: String,
    pub before: String,
    pub after: String,
    pub fix_safety: String,
    pub callers: Option<String>,
}

/// A validated transform spec.
#[derive(Debug)]
pub struct Spec {
    pub id: String,
    pub summary: String,
    pub docs: Docs,
    pub options: Vec<OptionSpec>,
    /// The tree-sitter query source; see [`Spec::query`].
    query_source: String,
    query: std::sync::OnceLock<Query>,
    pub triggers: Triggers,
    /// Partial parsing: every candidate lies in a top-level block (or a
    /// member of a top-level class) matching every one of these regexes, and
    /// contains a match of the first one itself; the analysis needs nothing
    /// outside such blocks but the module's top-level statements. Empty:
    /// always parse the whole file.
    pub block_regex: Vec<regex::bytes::Regex>,
    /// A file can only match if this regex matches somewhere in it (a finer
    /// prefilter than the literals, checked after them).
    pub file_regex: Option<regex::bytes::Regex>,
    /// The query only needs to look inside the innermost function around
    /// each match of this regex (or at the match, outside functions).
    pub focus_regex: Option<regex::bytes::Regex>,
    /// When this matches somewhere, the focus and the block regexes cannot be
    /// trusted (an alias hides the spelling): the whole file is parsed and
    /// the query looks at all of it.
    pub unfocus_regex: Option<regex::bytes::Regex>,
}

/// The literal prefilter: a file can only match if it contains every `all`
/// literal and at least one `any` literal. Files that cannot are never
/// decoded, let alone parsed, so this check runs on every file and must cost
/// as little as possible: `crate::prefilter::any_gate` first scans for the
/// `gate` literals of every spec together, chosen so most files hold none;
/// [`Triggers::may_match`] then checks the spec's own gate, if it names one,
/// and the exact conditions (one `memmem` search per literal, with searchers
/// built once).
#[derive(Debug)]
pub struct Triggers {
    /// The gate literals, for the combined scan of all specs (`crate::prefilter`).
    pub gate_literals: Vec<String>,
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
    pub fn may_match(&self, text: &[u8]) -> bool {
        let found = |f: &memchr::memmem::Finder<'_>| f.find(text).is_some();
        (self.gate.is_empty() || self.gate.iter().any(found))
            && self.all_finders.iter().all(found)
            && (self.any_finders.is_empty() || self.any_finders.iter().any(found))
    }
}

/// Resolved option values, by name.
pub type OptionValues = BTreeMap<String, toml::Value>;

impl Spec {
    /// Loads and validates a spec, compiling its query.
    pub fn load(file: &str, toml_text: &str) -> Result<Spec, SpecError> {
        let spec = Spec::load_lazily(file, toml_text)?;
        let query = Query::new(&crate::parse::language(), &spec.query_source).map_err(|e| SpecError::Field {
            file: file.into(),
            field: "query".into(),
            problem: format!("does not compile: {e}"),
        })?;
        let _ = spec.query.set(query);
        Ok(spec)
    }

    /// [`Spec::load`], but the query is compiled on first use: compiling
    /// costs milliseconds, and a run whose files are all ruled out by the
    /// prefilter never needs it. For the embedded specs, which the test
    /// suite loads with [`Spec::load`].
    pub fn load_lazily(file: &str, toml_text: &str) -> Result<Spec, SpecError> {
        let raw: RawSpec =
            toml::from_str(toml_text).map_err(|e| SpecError::Toml { file: file.into(), message: e.to_string() })?;
        let field = |field: &str, problem: &str| SpecError::Field {
            file: file.into(),
            field: field.into(),
            problem: problem.into(),
        };
        let required = |name: &str, v: Option<String>| -> Result<String, SpecError> {
            v.filter(|s| !s.trim().is_empty()).ok_or_else(|| field(&format!("docs.{name}"), "is missing or empty"))
        };
        let docs = Docs {
            what: required("what", raw.docs.what)?,
            why: required("why", raw.docs.why)?,
            before: required("before", raw.docs.before)?,
            after: required("after", raw.docs.after)?,
            fix_safety: required("fix_safety", raw.docs.fix_safety)?,
            callers: raw.docs.callers,
        };
        if raw.id.is_empty() || !raw.id.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err(field("id", "must be lowercase letters and dashes"));
        }
        if raw.summary.trim().is_empty() {
            return Err(field("summary", "is empty"));
        }
        let triggers = Triggers::new(raw.triggers).map_err(|p| field("triggers", p))?;
        let mut options = Vec::new();
        for (i, o) in raw.options.into_iter().enumerate() {
            let kind = match o.kind.as_str() {
                "integer" => OptionKind::Integer,
                "float" => OptionKind::Float,
                "string" => OptionKind::String,
                "string-list" => OptionKind::StringList,
                other => {
                    return Err(field(
                        &format!("options[{i}].type"),
                        &format!("is `{other}`; expected integer, float, string or string-list"),
                    ));
                }
            };
            let default = kind
                .check(&o.default)
                .ok_or_else(|| field(&format!("options[{i}].default"), &format!("is not a {}", kind.name())))?;
            if o.doc.trim().is_empty() {
                return Err(field(&format!("options[{i}].doc"), "is empty"));
            }
            options.push(OptionSpec { name: o.name, kind, default, doc: o.doc, cli: o.cli });
        }
        let regex = |name: &str, pattern: Option<&str>| {
            pattern
                .map(regex::bytes::Regex::new)
                .transpose()
                .map_err(|e| field(name, &format!("is not a valid regex: {e}")))
        };
        let block_regex = match raw.block_regex {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => vec![p],
            Some(OneOrMany::Many(ps)) if !ps.is_empty() => ps,
            Some(OneOrMany::Many(_)) => return Err(field("block_regex", "is an empty list")),
        }
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = format!("block_regex[{i}]");
            // Blocks are matched by position in the whole text (`crate::blocks`):
            // a pattern must not behave differently at a block's edges.
            if ["^", "$", "\\A", "\\z", "\\B"].iter().any(|a| p.contains(a)) {
                return Err(field(&name, "must not use anchors (`^`, `$`, `\\A`, `\\z`) or `\\B`"));
            }
            let re = regex::bytes::Regex::new(p).map_err(|e| field(&name, &format!("is not a valid regex: {e}")))?;
            if re.is_match(b"") {
                return Err(field(&name, "matches the empty string"));
            }
            Ok(re)
        })
        .collect::<Result<Vec<_>, _>>()?;
        let file_regex = regex("file_regex", raw.file_regex.as_deref())?;
        let focus_regex = regex("focus_regex", raw.focus_regex.as_deref())?;
        let unfocus_regex = regex("unfocus_regex", raw.unfocus_regex.as_deref())?;
        Ok(Spec {
            id: raw.id,
            summary: raw.summary,
            docs,
            options,
            query_source: raw.query,
            query: std::sync::OnceLock::new(),
            triggers,
            block_regex,
            file_regex,
            focus_regex,
            unfocus_regex,
        })
    }

    /// The query's source text.
    pub fn query_source(&self) -> &str {
        &self.query_source
    }

    /// The compiled query (compiled now if it was loaded lazily). At run
    /// time [`super::queries::QuerySet`] serves the embedded specs instead.
    pub fn query(&self) -> &Query {
        self.query.get_or_init(|| {
            Query::new(&crate::parse::language(), &self.query_source)
                .unwrap_or_else(|e| panic!("{}: field `query` does not compile: {e}", self.id))
        })
    }

    /// The defaults of every option.
    pub fn defaults(&self) -> OptionValues {
        self.options.iter().map(|o| (o.name.clone(), o.default.clone())).collect()
    }

    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "x"
summary = "s"
query = "(while_statement) @loop"
triggers = { all = ["while"] }
[docs]
what = "w"
why = "y"
before = "b"
after = "a"
fix_safety = "f"
"#;

    #[test]
    fn loads_a_minimal_spec() {
        let spec = Spec::load("x.toml", MINIMAL).unwrap();
        assert_eq!(spec.id, "x");
    }

    #[test]
    fn errors_name_file_and_field() {
        let err = Spec::load("x.toml", &MINIMAL.replace("why = \"y\"\n", "")).unwrap_err();
        assert_eq!(err.to_string(), "x.toml: field `docs.why` is missing or empty");
        let err = Spec::load("x.toml", &MINIMAL.replace("(while_statement)", "(nope)")).unwrap_err();
        assert!(err.to_string().starts_with("x.toml: field `query` does not compile"), "{err}");
        let err = Spec::load("x.toml", &format!("{MINIMAL}\nbogus = 1\n")).unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    }

    fn with_triggers(triggers: &str) -> Result<Spec, SpecError> {
        Spec::load("x.toml", &MINIMAL.replace(r#"triggers = { all = ["while"] }"#, triggers))
    }

    #[test]
    fn triggers_check_every_condition_after_the_gate() {
        let t = with_triggers(r#"triggers = { all = ["sleep", "while"] }"#).unwrap().triggers;
        assert!(t.may_match(b"while x: sleep(1)"));
        assert!(!t.may_match(b"while x: pass"), "the gate (first `all` literal) is missing");
        assert!(!t.may_match(b"sleep(1)"), "a later `all` literal is missing");
        let t = with_triggers(r#"triggers = { any = ["SystemExit", "exit(", "quit("], gate = ["xit", "quit"] }"#)
            .unwrap()
            .triggers;
        assert!(t.may_match(b"raise SystemExit(1)") && t.may_match(b"quit()"));
        assert!(!t.may_match(b"def __exit__ (self): pass"), "a gate hit alone is not enough");
        assert!(!t.may_match(b"x = 1"));
    }

    #[test]
    fn a_gate_must_be_implied_by_the_triggers() {
        let err = with_triggers(r#"triggers = { any = ["SystemExit", "quit("], gate = ["xit"] }"#).err().unwrap();
        assert!(err.to_string().starts_with("x.toml: field `triggers` has a `gate` literal set"), "{err}");
        let err = with_triggers(r#"triggers = { all = ["while"], gate = [""] }"#).err().unwrap();
        assert_eq!(err.to_string(), "x.toml: field `triggers` holds an empty literal");
        assert!(with_triggers(r#"triggers = { all = ["while", "sleep"], gate = ["eep"] }"#).is_ok());
    }

    #[test]
    fn block_regex_is_one_regex_or_a_list() {
        let one = Spec::load("x.toml", &format!("block_regex = \"a\"\n{MINIMAL}")).unwrap();
        assert_eq!(one.block_regex.len(), 1);
        let two = Spec::load("x.toml", &format!("block_regex = [\"a\", \"b\"]\n{MINIMAL}")).unwrap();
        assert_eq!(two.block_regex.len(), 2);
        let err = Spec::load("x.toml", &format!("block_regex = []\n{MINIMAL}")).err().unwrap();
        assert_eq!(err.to_string(), "x.toml: field `block_regex` is an empty list");
        let err = Spec::load("x.toml", &format!("block_regex = [\"a\", \"(\"]\n{MINIMAL}")).err().unwrap();
        assert!(err.to_string().starts_with("x.toml: field `block_regex[1]` is not a valid regex"), "{err}");
        let err = Spec::load("x.toml", &format!("block_regex = \"^def\"\n{MINIMAL}")).err().unwrap();
        assert!(err.to_string().starts_with("x.toml: field `block_regex[0]` must not use anchors"), "{err}");
        let err = Spec::load("x.toml", &format!("block_regex = \"x*\"\n{MINIMAL}")).err().unwrap();
        assert_eq!(err.to_string(), "x.toml: field `block_regex[0]` matches the empty string");
    }
}
