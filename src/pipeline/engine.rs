//! The per-file pipeline: decode, prefilter, parse, run transforms, apply
//! edits to a fixpoint, verify, re-encode.
//!
//! [`process`] is pure: bytes in, findings and new bytes out. It never
//! prints and never touches the file system, so the CLI, the fuzz target and
//! the tests all drive exactly the same code.

use thiserror::Error;

use crate::pipeline::edits::{self, Fix};
use crate::pipeline::prefilter;
use crate::pipeline::source::{Indent, Source, SourceError, line_cols};
use crate::pipeline::unparsed;
use crate::pipeline::verify::{self, VerifyError};
use crate::python::header::HeaderPlan;
use crate::python::parse::{self, ParseError};
use crate::transforms::{Ctx, Finding, FindingKind, Transform};

/// How many rounds of fixes a file may need (fixes dropped for overlapping an
/// earlier one get another chance in the next round).
const MAX_ROUNDS: usize = 4;

#[derive(Debug, Error)]
pub enum FileError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("the rewritten text holds characters the file's encoding ({0:?}) cannot represent")]
    Encode(crate::pipeline::source::Encoding),
    #[error("fixes did not converge after {MAX_ROUNDS} rounds")]
    NoFixpoint,
    /// A transform's hint would have ruled out one of its sites: a bug in
    /// the transform's spec, reported rather than hidden.
    #[error("internal error: {0}")]
    Hint(#[from] crate::transforms::hints::HintMiss),
}

/// A finding with its position in the original file.
#[derive(Debug, Clone)]
pub struct Located {
    pub finding: Finding,
    /// 1-based line and column (in chars) of the start and end.
    pub start: (usize, usize),
    pub end: (usize, usize),
    /// For a site: the start and end of each of its edits.
    pub edit_positions: Vec<((usize, usize), (usize, usize))>,
}

/// What processing one file produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Sites and skipped candidates of the first round, in file order.
    pub findings: Vec<Located>,
    /// The new file bytes, if anything changed.
    pub output: Option<Vec<u8>>,
    /// Whether the prefilter (or the block scan: no block can hold a
    /// candidate) ruled the file out without parsing it.
    pub prefiltered: bool,
    /// Whether only part of the file was parsed (see [`crate::partial`]).
    pub partial: bool,
}

/// Options for [`process`].
#[derive(Clone, Copy)]
pub struct Options {
    /// Which of the transforms' hints the pipeline may use to skip work.
    pub shortcuts: Shortcuts,
    /// Apply and verify the fixes (`fix`); `check` only needs the findings.
    pub apply: bool,
    /// Whether the caller shows the candidates left alone (`check --explain`,
    /// JSON, `fix --report`). When it does not, partial parsing may also
    /// blank the definitions that can hold only those (see
    /// [`Transform::site_context`]); the sites stay the same.
    pub show_left_alone: bool,
    /// The longest line the file's project accepts (see
    /// `crate::app::line_length`); `None`: PEP 8's 79.
    pub line_length: Option<usize>,
    /// Whether the file is a package's `__init__.py`: its imports may be
    /// re-exports, so none is removed when a rewrite leaves it unused.
    pub package_init: bool,
}

/// The shortcuts the transforms' [`Hints`](crate::transforms::hints::Hints)
/// allow. None of them may change what is found: with all of them off (the
/// reference mode, `--no-shortcuts`), every site is also checked against
/// every hint that could have ruled it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortcuts {
    /// Skip transforms whose trigger literals the file lacks.
    pub prefilter: bool,
    /// Parse only the top-level blocks that can hold a candidate when every
    /// active transform allows it (see [`crate::partial`]).
    pub partial: bool,
    /// Run each query only where the hints say candidates can be.
    pub focus: bool,
}

impl Shortcuts {
    /// The default: every shortcut.
    pub const ALL: Shortcuts = Shortcuts { prefilter: true, partial: true, focus: true };
    /// The reference mode: every file decoded and parsed whole, every query
    /// run on the whole tree.
    pub const NONE: Shortcuts = Shortcuts { prefilter: false, partial: false, focus: false };

    /// Whether sites are checked against the hints: in the reference mode,
    /// and in debug builds (the test suite) whatever the mode.
    fn check_hints(self) -> bool {
        self == Shortcuts::NONE || cfg!(debug_assertions)
    }
}

pub fn process(bytes: &[u8], transforms: &[Box<dyn Transform>], opts: Options) -> Result<FileResult, FileError> {
    let refs: Vec<&dyn Transform> = transforms.iter().map(|t| t.as_ref()).collect();
    process_with(bytes, &refs, opts)
}

/// [`process`] with a per-file selection of transforms.
pub fn process_with(bytes: &[u8], transforms: &[&dyn Transform], opts: Options) -> Result<FileResult, FileError> {
    // The literal scan runs on raw bytes: a file that cannot match is not even decoded.
    // One pass rules out most files; the rest get each transform's exact check.
    let prefilter = opts.shortcuts.prefilter;
    let gated = !prefilter || prefilter::any_gate(bytes, transforms);
    let active: Vec<&dyn Transform> =
        transforms.iter().copied().filter(|t| gated && (!prefilter || prefilter::triggers_match(*t, bytes))).collect();
    if active.is_empty() {
        // Still reject what tame could never read, so errors do not depend on the prefilter.
        if !gated || !crate::pipeline::directive::may_hold(bytes) {
            Source::validate(bytes)?;
            return Ok(FileResult { prefiltered: true, ..FileResult::default() });
        }
        let source = Source::decode(bytes)?;
        if let Some(line) = crate::pipeline::suppress::file_ignored(&source.text) {
            // Reported whether or not a transform could match, as below.
            return Ok(FileResult { findings: vec![file_ignored(line)], prefiltered: true, ..FileResult::default() });
        }
        // No transform can match, so every suppression comment here is unused.
        let tree = parse::parse(&source.text)?;
        let ids: Vec<&str> = transforms.iter().map(|t| t.spec().id.as_str()).collect();
        let mut findings = Vec::new();
        crate::pipeline::suppress::apply(&source.text, &tree, &mut findings, &ids, true);
        let located = locate(&source.text, findings);
        return Ok(FileResult { findings: located, prefiltered: true, ..FileResult::default() });
    }
    let source = Source::decode(bytes)?;
    if let Some(line) = crate::pipeline::suppress::file_ignored(&source.text) {
        return Ok(FileResult { findings: vec![file_ignored(line)], ..FileResult::default() });
    }
    let eol = source.line_ending.as_str();
    // Found from the input on first use, and kept for every round.
    let indent = Indent::of(&source.text);
    // Round 0 runs on a partial tree when possible, else on the whole file.
    let first =
        match opts.shortcuts.partial.then(|| partial(&active, &source, &indent, eol, opts, &[])).transpose()?.flatten()
        {
            Some(first) => first,
            None => {
                let tree = parse::parse(&source.text)?;
                let errors = parse::error_ranges(&tree);
                let ctx = Ctx::new(&source.text, &tree, &indent, eol).with_line_limit(opts.line_length);
                let ctx = if opts.shortcuts.focus { ctx } else { ctx.without_focus() };
                let mut findings = collect_findings(&active, &ctx, &errors, true, true);
                if !errors.is_empty() {
                    findings.extend(unparsed::regions(&source.text, &tree, &errors, &active, opts.show_left_alone));
                    findings.sort_by_key(|f| (f.range.start, f.transform));
                }
                if opts.shortcuts.check_hints() {
                    check_hints(&active, &source.text, &tree, &findings)?;
                }
                Round0 { findings, errors_before: errors.len(), partial: false, parsed: true }
            }
        };
    let mut result = FileResult {
        findings: locate(&source.text, first.findings.clone()),
        partial: first.partial,
        prefiltered: !first.parsed,
        ..FileResult::default()
    };
    if !opts.apply {
        return Ok(result);
    }
    let mut text = source.text.to_string();
    let mut findings = first.findings;
    // Where imports go needs the whole import block, which a partial parse
    // may have left out: made from a whole parse when a round needs it.
    let mut plan: Option<HeaderPlan> = None;
    // The whole tree of the latest text (for the imports a rewrite made unused).
    let mut last_tree: Option<tree_sitter::Tree> = None;
    for round in 1..=MAX_ROUNDS + 1 {
        let fixes: Vec<&Fix> = findings
            .iter()
            .filter_map(|f| match &f.kind {
                FindingKind::Site(fix) => Some(fix),
                FindingKind::LeftAlone { .. } => None,
            })
            .collect();
        if fixes.is_empty() {
            break;
        }
        if round > MAX_ROUNDS {
            return Err(FileError::NoFixpoint);
        }
        let current = match plan.take() {
            Some(p) => p,
            None => HeaderPlan::of_header(&text)?,
        };
        let applied = edits::apply(&text, &fixes, &current, eol);
        let tree = match verify::verify(&applied.text, first.errors_before) {
            Ok(tree) => tree,
            // A partial tree cannot see errors in blanked bodies (Python 2 code,
            // say): judge the rewrite against a whole parse instead.
            Err(_) if first.partial => {
                let shortcuts = Shortcuts { partial: false, ..opts.shortcuts };
                return process_with(bytes, transforms, Options { shortcuts, ..opts });
            }
            Err(e) => return Err(e.into()),
        };
        text = applied.text;
        let ctx = Ctx::new(&text, &tree, &indent, eol).with_line_limit(opts.line_length);
        // The text has moved: find its error regions again.
        findings = collect_findings(&active, &ctx, &parse::error_ranges(&tree), false, true);
        plan = Some(HeaderPlan::of(tree.root_node(), &text));
        last_tree = Some(tree);
    }
    if text != source.text {
        if !opts.package_init
            && let Some(after) = &last_tree
        {
            text = drop_made_unused(&source.text, after, text, first.errors_before)?;
        }
        result.output = Some(source.encode(&text).ok_or(FileError::Encode(source.encoding))?);
    }
    Ok(result)
}

/// The note for a file with `# tame: ignore-file` on (0-based) `line`.
fn file_ignored(line: usize) -> Located {
    let finding = Finding {
        transform: "tame",
        range: 0..0,
        message: "file ignored".into(),
        kind: FindingKind::LeftAlone {
            class: "suppressed".into(),
            evidence: format!("`# tame: ignore-file` at line {}", line + 1),
        },
    };
    Located { finding, start: (line + 1, 1), end: (line + 1, 1), edit_positions: Vec::new() }
}

/// The first round's findings and what applying them needs.
struct Round0 {
    findings: Vec<Finding>,
    /// Error regions of the input (the output may not have more).
    errors_before: usize,
    /// Whether the findings come from a partial parse.
    partial: bool,
    /// Whether anything was parsed (not when no block can hold a candidate).
    parsed: bool,
}

/// The partial-parsing fast path: parse a reduced text in which top-level
/// bodies that cannot hold a candidate are blanked (see [`crate::partial`]).
/// Offsets are those of the whole file, so the edits apply to it directly.
/// Returns `None` (parse the whole file) when a transform needs the whole
/// file, the file has suppression comments, or the reduced text has errors.
/// `whole`: top-level statements to keep with all their members (asked for
/// by a transform after a first partial parse: [`Transform::blocks_needed`]).
fn partial(
    active: &[&dyn Transform],
    source: &Source,
    indent: &Indent<'_>,
    eol: &str,
    opts: Options,
    whole: &[std::ops::Range<usize>],
) -> Result<Option<Round0>, FileError> {
    let mut keep: Vec<crate::partial::KeepSet<'_>> = Vec::with_capacity(active.len());
    let bytes = source.text.as_bytes();
    for t in active {
        // Definitions that can hold only candidates left alone need no
        // parse when those are not shown.
        let site_context = if opts.show_left_alone { None } else { t.site_context(bytes) };
        // `None`: no block regex, or an alias hides the spelling it looks for.
        let Some(set) = t.spec().hints.keep_set(bytes, site_context) else { return Ok(None) };
        keep.push(set);
    }
    // Suppression comments in blanked bodies must still be seen (and reported if unused).
    if crate::pipeline::directive::may_hold(source.text.as_bytes()) {
        return Ok(None);
    }
    let Some(crate::partial::Reduced { text, unparsed, blanked, bound, imports, matched }) =
        crate::partial::reduce_with(&source.text, &keep, whole)
    else {
        return Ok(None);
    };
    if !matched {
        // No statement can hold a candidate of any transform: nothing to parse.
        return Ok(Some(Round0 { findings: Vec::new(), errors_before: 0, partial: true, parsed: false }));
    }
    // Nothing to blank: the whole parse costs the same.
    let Some(reduced) = text else { return Ok(None) };
    let tree = parse::parse_around(&reduced, &unparsed)?;
    if tree.root_node().has_error() {
        return Ok(None);
    }
    // Every active transform's unfocus regex was ruled out above, on the whole text.
    let ctx = Ctx::partial(&reduced, &source.text, &tree, indent, eol)
        .with_module_names(&bound)
        .with_module_imports(&imports)
        .with_unparsed(&unparsed)
        .without_unfocus_matches()
        .with_line_limit(opts.line_length);
    let ctx = if opts.shortcuts.focus { ctx } else { ctx.without_focus() };
    // (No suppression comment: checked above, on the whole text.)
    let findings = collect_findings(active, &ctx, &[], true, false);
    if opts.shortcuts.check_hints() {
        check_hints(active, &source.text, &tree, &findings)?;
    }
    let mentioned = |word: &str, within: std::ops::Range<usize>| {
        let bytes = source.text.as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        // A blanked body starts inside the node it belongs to, but its trailing
        // blank lines can run past the node's end.
        blanked.iter().filter(|r| within.contains(&r.start)).any(|r| {
            memchr::memmem::find_iter(&bytes[r.clone()], word.as_bytes()).any(|at| {
                let (start, end) = (r.start + at, r.start + at + word.len());
                let before = start.checked_sub(1).map(|i| bytes[i]);
                !before.is_some_and(is_word) && !bytes.get(end).copied().is_some_and(is_word)
            })
        })
    };
    if active.iter().any(|t| t.needs_whole_file(&ctx, &findings, &mentioned)) {
        return Ok(None);
    }
    let needed: Vec<std::ops::Range<usize>> =
        active.iter().flat_map(|t| t.blocks_needed(&ctx, &findings, &mentioned)).collect();
    if !needed.is_empty() {
        // Once: a second partial parse that still lacks text parses it all.
        if !whole.is_empty() {
            return Ok(None);
        }
        return partial(active, source, indent, eol, opts, &needed);
    }
    Ok(Some(Round0 { findings, errors_before: 0, partial: true, parsed: true }))
}

/// Checks every site against every hint of its transform that could have
/// ruled it out (see [`crate::transforms::hints::Hints::check_site`]).
fn check_hints(
    active: &[&dyn Transform],
    text: &str,
    tree: &tree_sitter::Tree,
    findings: &[Finding],
) -> Result<(), crate::transforms::hints::HintMiss> {
    for f in findings.iter().filter(|f| matches!(f.kind, FindingKind::Site(_))) {
        if let Some(t) = active.iter().find(|t| t.spec().id == f.transform) {
            let context = t.site_context(text.as_bytes());
            t.spec().hints.check_site(f.transform, text.as_bytes(), tree.root_node(), f.range.clone(), context)?;
        }
    }
    Ok(())
}

/// Positions findings (and their edits) in `text`, in one pass over it.
fn locate(text: &str, findings: Vec<Finding>) -> Vec<Located> {
    let mut offsets = Vec::new();
    for f in &findings {
        offsets.extend([f.range.start, f.range.end]);
        if let FindingKind::Site(fix) = &f.kind {
            offsets.extend(fix.edits.iter().flat_map(|e| [e.range.start, e.range.end]));
        }
    }
    let mut positions = line_cols(text, &offsets).into_iter();
    let mut next = || positions.next().expect("one position per offset");
    findings
        .into_iter()
        .map(|finding| Located {
            start: next(),
            end: next(),
            edit_positions: match &finding.kind {
                FindingKind::Site(fix) => fix.edits.iter().map(|_| (next(), next())).collect(),
                FindingKind::LeftAlone { .. } => Vec::new(),
            },
            finding,
        })
        .collect()
}

/// Runs the transforms, applies suppression comments (if the text may hold
/// any), and turns sites that touch an error region into skipped candidates.
/// Sites that touch a region tree-sitter could not parse become skipped
/// candidates: tame never edits code it does not understand. (After the
/// first round, verify guarantees no new error regions, and old ones only
/// moved by whole edits.)
fn collect_findings(
    active: &[&dyn Transform],
    ctx: &Ctx<'_>,
    current_errors: &[std::ops::Range<usize>],
    first_round: bool,
    may_suppress: bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for t in active {
        let from = findings.len();
        t.run(ctx, &mut findings);
        // The finding names its transform by the spec's id, whatever the
        // module wrote (debug builds check the two agree).
        let id = t.spec().id.as_str();
        for f in &mut findings[from..] {
            debug_assert_eq!(f.transform, id, "a transform's findings carry its spec id");
            f.transform = id;
        }
    }
    if may_suppress {
        let ids: Vec<&str> = active.iter().map(|t| t.spec().id.as_str()).collect();
        crate::pipeline::suppress::apply(ctx.tree_text(), ctx.tree(), &mut findings, &ids, first_round);
    }
    for f in &mut findings {
        let touches = |r: &std::ops::Range<usize>| match &f.kind {
            FindingKind::Site(fix) => fix.edits.iter().any(|e| {
                let lo = e.range.start.min(f.range.start);
                let hi = e.range.end.max(f.range.end);
                lo < r.end && r.start <= hi
            }),
            FindingKind::LeftAlone { .. } => false,
        };
        if current_errors.iter().any(touches) {
            f.kind = FindingKind::LeftAlone {
                class: "syntax-error".into(),
                evidence: "the site touches a region tree-sitter could not parse".into(),
            };
        }
    }
    findings.sort_by_key(|f| (f.range.start, f.transform));
    findings
}

/// Removes the top-level imports the rewrite of `original` into `text` left
/// unused (see [`crate::pipeline::unused`]), verified like any rewrite.
fn drop_made_unused(
    original: &str,
    after: &tree_sitter::Tree,
    text: String,
    errors_before: usize,
) -> Result<String, FileError> {
    let before = || parse::parse(original).ok();
    let edits = crate::pipeline::unused::made_unused(original, before, after.root_node(), &text);
    if edits.is_empty() {
        return Ok(text);
    }
    let mut out = text;
    for e in edits.iter().rev() {
        out.replace_range(e.range.clone(), &e.text);
    }
    verify::verify(&out, errors_before)?;
    Ok(out)
}

/// Applies exactly `fixes` (a subset of a first round's sites, as chosen in
/// `fix --interactive`) to the file `bytes`, verified like any rewrite.
/// `package_init`: see [`Options::package_init`].
pub fn apply_selected(bytes: &[u8], fixes: &[&Fix], package_init: bool) -> Result<Vec<u8>, FileError> {
    let source = Source::decode(bytes)?;
    let tree = parse::parse(&source.text)?;
    let errors_before = parse::error_ranges(&tree).len();
    let plan = HeaderPlan::of(tree.root_node(), &source.text);
    let applied = edits::apply(&source.text, fixes, &plan, source.line_ending.as_str());
    let after = verify::verify(&applied.text, errors_before)?;
    let text =
        if package_init { applied.text } else { drop_made_unused(&source.text, &after, applied.text, errors_before)? };
    source.encode(&text).ok_or(FileError::Encode(source.encoding))
}
