//! The progress bar on stderr (indicatif): only on a terminal, and never
//! with `--quiet` or `--verbose` (whose lines it would garble).
//!
//! While the walk is still finding files the total is unknown: a spinner
//! shows the files done out of those found so far. Once the walk has
//! counted them, a bar shows the files done out of the total, and the
//! rate. A counted run of fewer than [`MIN_FILES`] files shows nothing: it
//! ends before a bar is worth drawing.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counted runs smaller than this show no bar.
pub(crate) const MIN_FILES: usize = 500;

/// The template while files are still being found.
const FINDING: &str = "{spinner} {pos}/{len} files (finding more) {rate} {elapsed}";
/// The template once the walk has counted the files.
const COUNTED: &str = "{bar:40} {pos}/{len} files {rate} {elapsed}";

/// What the bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Nothing (not a terminal, `--quiet`/`--verbose`, or a small run).
    Hidden,
    /// A spinner: the walk is still finding files.
    Finding,
    /// A bar: the walk has counted the files.
    Counted,
}

/// The stage for a run: `total` once the walk has counted the files.
pub(crate) fn stage(total: Option<usize>, silent: bool, terminal: bool) -> Stage {
    match total {
        _ if silent || !terminal => Stage::Hidden,
        Some(n) if n < MIN_FILES => Stage::Hidden,
        Some(_) => Stage::Counted,
        None => Stage::Finding,
    }
}

/// The template of a stage (`None`: hidden).
pub(crate) fn template(stage: Stage) -> Option<&'static str> {
    match stage {
        Stage::Hidden => None,
        Stage::Finding => Some(FINDING),
        Stage::Counted => Some(COUNTED),
    }
}

/// A bar for a run whose walk has not counted the files yet: a spinner
/// (files are added with `inc_length` as they are found), or hidden.
pub(crate) fn finding(silent: bool) -> ProgressBar {
    finding_on(silent, std::io::stderr().is_terminal())
}

fn finding_on(silent: bool, terminal: bool) -> ProgressBar {
    let bar = ProgressBar::hidden();
    set_stage(&bar, stage(None, silent, terminal));
    bar
}

/// The walk has counted `total` files: the spinner becomes a bar (or is
/// hidden for a small run).
pub(crate) fn counted(bar: &ProgressBar, total: usize, silent: bool) {
    counted_on(bar, total, silent, std::io::stderr().is_terminal());
}

fn counted_on(bar: &ProgressBar, total: usize, silent: bool, terminal: bool) {
    bar.set_length(total as u64);
    set_stage(bar, stage(Some(total), silent, terminal));
}

fn set_stage(bar: &ProgressBar, stage: Stage) {
    let Some(template) = template(stage) else {
        bar.disable_steady_tick();
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return;
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.with_key("rate", rate));
    }
    if bar.is_hidden() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    // The spinner turns while the walk is busy even if no file is done.
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
}

/// `{rate}`: files per second, whole (indicatif's `{per_sec}` shows four decimals).
fn rate(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{:.0} files/s", state.per_sec());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spinner_until_counted_then_a_bar_with_the_rate_only_on_a_terminal() {
        assert_eq!(stage(None, false, true), Stage::Finding);
        assert_eq!(stage(Some(MIN_FILES), false, true), Stage::Counted);
        assert_eq!(stage(Some(MIN_FILES - 1), false, true), Stage::Hidden);
        assert_eq!(stage(None, true, true), Stage::Hidden, "--quiet/--verbose");
        assert_eq!(stage(Some(10_000), false, false), Stage::Hidden, "stderr is not a terminal");
        let counted = template(Stage::Counted).unwrap();
        assert!(counted.contains("{pos}/{len}") && counted.contains("{rate}") && counted.contains("{bar"));
        let finding = template(Stage::Finding).unwrap();
        assert!(finding.starts_with("{spinner}") && finding.contains("{pos}/{len}"));
        assert_eq!(template(Stage::Hidden), None);
        for t in [counted, finding] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn off_a_terminal_or_for_a_small_run_nothing_is_drawn() {
        let bar = finding_on(false, false);
        assert!(bar.is_hidden());
        counted_on(&bar, 10_000, false, false);
        assert!(bar.is_hidden());
        assert_eq!(bar.length(), Some(10_000));
        let small = finding_on(true, true);
        counted_on(&small, 10, false, true);
        assert!(small.is_hidden());
    }
}
