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

use super::hints::{Hints, RawHints};

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
    hints: RawHints,
    docs: RawDocs,
    #[serde(default)]
    options: Vec<RawOption>,
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
    /// The capture names the transform's analysis reads (checked against
    /// the query when the spec is loaded).
    pub(crate) captures: &'static [&'static str],
    /// The shortcuts the pipeline may take for this transform.
    pub hints: Hints,
}

fn missing_capture(file: &str, name: &str) -> SpecError {
    SpecError::Field {
        file: file.into(),
        field: "query".into(),
        problem: format!("does not define the capture `@{name}` the transform reads"),
    }
}

/// Resolved option values, by name.
pub type OptionValues = BTreeMap<String, toml::Value>;

impl Spec {
    /// Loads and validates a spec, compiling its query. `captures`: the
    /// capture names the transform's analysis reads; the query must define
    /// each of them.
    pub fn load(file: &str, toml_text: &str, captures: &'static [&'static str]) -> Result<Spec, SpecError> {
        let spec = Spec::load_lazily(file, toml_text, captures)?;
        let query = Query::new(&crate::python::parse::language(), &spec.query_source).map_err(|e| {
            SpecError::Field { file: file.into(), field: "query".into(), problem: format!("does not compile: {e}") }
        })?;
        if let Some(name) = captures.iter().find(|n| query.capture_index_for_name(n).is_none()) {
            return Err(missing_capture(file, name));
        }
        let _ = spec.query.set(query);
        Ok(spec)
    }

    /// [`Spec::load`], but the query is compiled on first use: compiling
    /// costs milliseconds, and a run whose files are all ruled out by the
    /// prefilter never needs it. For the embedded specs, which the test
    /// suite loads with [`Spec::load`].
    pub fn load_lazily(file: &str, toml_text: &str, captures: &'static [&'static str]) -> Result<Spec, SpecError> {
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
        let hints = Hints::load(raw.hints).map_err(|(name, problem)| field(&name, &problem))?;
        for name in captures {
            // The query text must spell each capture (`@loop` then a non-word
            // character); [`Spec::load`] checks the compiled query too.
            let spelled = format!("@{name}");
            let defined = raw.query.match_indices(&spelled).any(|(at, _)| {
                !raw.query[at + spelled.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
            });
            if !defined {
                return Err(missing_capture(file, name));
            }
        }
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
        Ok(Spec {
            id: raw.id,
            summary: raw.summary,
            docs,
            options,
            query_source: raw.query,
            query: std::sync::OnceLock::new(),
            captures,
            hints,
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
            Query::new(&crate::python::parse::language(), &self.query_source)
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
[hints]
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
        let spec = Spec::load("x.toml", MINIMAL, &[]).unwrap();
        assert_eq!(spec.id, "x");
    }

    #[test]
    fn errors_name_file_and_field() {
        let err = Spec::load("x.toml", &MINIMAL.replace("why = \"y\"\n", ""), &[]).unwrap_err();
        assert_eq!(err.to_string(), "x.toml: field `docs.why` is missing or empty");
        let err = Spec::load("x.toml", &MINIMAL.replace("(while_statement)", "(nope)"), &[]).unwrap_err();
        assert!(err.to_string().starts_with("x.toml: field `query` does not compile"), "{err}");
        let err = Spec::load("x.toml", &MINIMAL.replace("[hints]", "bogus = 1\n[hints]"), &[]).unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    }

    #[test]
    fn hints_are_one_table_and_errors_name_their_field() {
        let spec =
            Spec::load("x.toml", &MINIMAL.replace("[hints]", "[hints]\nblock_regex = [\"a\", \"b\"]"), &[]).unwrap();
        assert!(spec.hints.may_match(b"while a b") && !spec.hints.may_match(b"while a"));
        let bad = |extra: &str| {
            Spec::load("x.toml", &MINIMAL.replace("[hints]", &format!("[hints]\n{extra}")), &[])
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(bad("block_regex = []"), "x.toml: field `hints.block_regex` is an empty list");
        assert!(
            bad("block_regex = [\"a\", \"(\"]")
                .starts_with("x.toml: field `hints.block_regex[1]` is not a valid regex")
        );
        assert!(bad("block_regex = \"^def\"").starts_with("x.toml: field `hints.block_regex[0]` must not use anchors"));
        assert_eq!(bad("block_regex = \"x*\""), "x.toml: field `hints.block_regex[0]` matches the empty string");
        assert!(bad("gate = 1").contains("unknown field `gate`"));
        let gate = MINIMAL
            .replace(r#"triggers = { all = ["while"] }"#, r#"triggers = { any = ["SystemExit"], gate = ["q"] }"#);
        let err = Spec::load("x.toml", &gate, &[]).err().unwrap().to_string();
        assert!(err.starts_with("x.toml: field `hints.triggers` has a `gate` literal set"), "{err}");
    }

    #[test]
    fn a_capture_the_transform_reads_must_be_in_the_query() {
        assert!(Spec::load("x.toml", MINIMAL, &["loop"]).is_ok());
        let renamed = MINIMAL.replace("@loop", "@lp");
        for err in [Spec::load("x.toml", &renamed, &["loop"]), Spec::load_lazily("x.toml", &renamed, &["loop"])] {
            assert_eq!(
                err.err().unwrap().to_string(),
                "x.toml: field `query` does not define the capture `@loop` the transform reads"
            );
        }
        // A longer name that starts with it is another capture.
        let longer = MINIMAL.replace("@loop", "@loop_body");
        assert!(Spec::load_lazily("x.toml", &longer, &["loop"]).is_err());
    }
}
