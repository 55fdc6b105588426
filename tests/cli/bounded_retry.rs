//! bounded-retry behaviour tests: rewritten loops run under CPython with a
//! fake clock and a fake sleep.
//!
//! Each test rewrites a fixture with the real binary, keeps the original
//! beside it as `<name>_orig.py`, writes stub modules (`eventlet`,
//! `oslo_log`, ...) into the same folder, and runs a scenario under
//! `python3`. The prelude replaces `time.monotonic`, `time.time`,
//! `time.sleep` and `asyncio.sleep` with a fake clock that moves only when
//! something sleeps (plus a microsecond per sleep call, for the time the call
//! itself takes), and that can be frozen. A loop that still runs after
//! 100,000 sleeps raises `RuntimeError('runaway')`, so an unbounded loop
//! fails the test instead of hanging it. Scenarios print one JSON line that
//! the Rust side checks.

use std::path::Path;

use serde_json::Value;

use crate::common::*;

pub(crate) const PRELUDE: &str = r#"
import asyncio, json, sys, time

class FakeClock:
    def __init__(self):
        self.mono = 1000.0
        self.wall = 1.7e9
        self.sleeps = []
        self.freeze_mono = False
        self.freeze_wall = False

    def monotonic(self):
        return self.mono

    def time(self):
        return self.wall

    def sleep(self, seconds=0):
        if seconds < 0:
            raise ValueError('sleep length must be non-negative')
        self.sleeps.append(seconds)
        if len(self.sleeps) > 100000:
            raise RuntimeError('runaway')
        if not self.freeze_mono:
            self.mono += seconds + 1e-6
        if not self.freeze_wall:
            self.wall += seconds + 1e-6

    async def async_sleep(self, seconds=0, result=None):
        self.sleep(seconds)
        return result

    def freeze(self):
        self.freeze_mono = self.freeze_wall = True

CLOCK = FakeClock()
START = CLOCK.mono
time.monotonic = CLOCK.monotonic
time.time = CLOCK.time
time.sleep = CLOCK.sleep
asyncio.sleep = CLOCK.async_sleep

def outcome(fn, *args):
    """Runs fn; returns (value, error type, error message)."""
    try:
        return fn(*args), None, None
    except Exception as e:
        return None, type(e).__name__, str(e)

def report(**kw):
    kw.setdefault('sleeps', CLOCK.sleeps)
    kw.setdefault('elapsed', CLOCK.mono - START)
    print('RESULT ' + json.dumps(kw, default=str))
"#;

/// Stub modules the fixtures import, all sleeping through `time.sleep`
/// (looked up at call time, so the fake clock sees every sleep).
pub(crate) const STUBS: &[(&str, &str)] = &[
    (
        "eventlet/__init__.py",
        "import time as _t\nfrom . import greenthread\n\n\ndef sleep(seconds=0):\n    _t.sleep(seconds)\n",
    ),
    ("eventlet/greenthread.py", "import time as _t\n\n\ndef sleep(seconds=0):\n    _t.sleep(seconds)\n"),
    ("gevent.py", "import time as _t\n\n\ndef sleep(seconds=0):\n    _t.sleep(seconds)\n"),
    ("oslo_log/__init__.py", ""),
    ("oslo_log/log.py", "import logging\ngetLogger = logging.getLogger\n"),
    ("neutron_agent/__init__.py", ""),
    (
        "neutron_agent/neutron_utils.py",
        "def load_class_by_alias_or_classname(ns, name):\n    raise ImportError(name)\n",
    ),
    ("myapp/__init__.py", ""),
    ("myapp/errors.py", "class RetryExhausted(Exception):\n    pass\n"),
];

/// Rewrites `fixture` with `tame fix` (plus `args`) in a new folder, keeps
/// the original as `<stem>_orig.py`, and adds the stubs. Unless `args` say
/// otherwise, the limits are 1000 attempts and 300 s (smaller than the
/// defaults, so exhaustion is quick to reach under a fake clock).
fn rewrite(fixture: &str, args: &[&str]) -> tempfile::TempDir {
    rewrite_in("bounded-retry", Some("bounded-retry"), fixture, args)
}

/// [`rewrite`] for a fixture of `tests/fixtures/<folder>`, with the
/// transform `only` (or all of them).
pub(crate) fn rewrite_in(folder: &str, only: Option<&str>, fixture: &str, args: &[&str]) -> tempfile::TempDir {
    let original = std::fs::read(repo().join("tests/fixtures").join(folder).join(fixture)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(fixture), &original).unwrap();
    git_init(dir.path());
    let mut cmd = vec!["fix"];
    if let Some(id) = only {
        cmd.extend(["--only", id]);
    }
    if !args.contains(&"--max-attempts") {
        cmd.extend(["--max-attempts", "1000"]);
    }
    if !args.contains(&"--deadline") {
        cmd.extend(["--deadline", "300"]);
    }
    cmd.extend(args);
    cmd.push(fixture);
    let (code, _, stderr) = run(dir.path(), &cmd);
    assert_eq!(code, 0, "tame fix failed: {stderr}");
    let rewritten = std::fs::read(dir.path().join(fixture)).unwrap();
    assert_ne!(rewritten, original, "tame left {fixture} unchanged");
    let stem = fixture.trim_end_matches(".py");
    std::fs::write(dir.path().join(format!("{stem}_orig.py")), &original).unwrap();
    for (path, text) in STUBS {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Runs `scenario` after the prelude with `MOD` bound to module `module`;
/// returns the reported JSON.
pub(crate) fn scenario(dir: &Path, module: &str, scenario: &str) -> Value {
    let script = format!("{PRELUDE}\nimport importlib\nMOD = importlib.import_module({module:?})\n{scenario}\n");
    let (ok, out) = python(&script, dir);
    assert!(ok, "python failed:\n{out}");
    let line = out.lines().rev().find_map(|l| l.strip_prefix("RESULT ")).unwrap_or_else(|| panic!("no result:\n{out}"));
    serde_json::from_str(line).unwrap()
}

pub(crate) fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

fn sleeps(v: &Value) -> Vec<f64> {
    v["sleeps"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect()
}

const SEED_NORMAL: &str = r#"
calls = []
t = MOD.throttler(threshold=2)
g = t(lambda: calls.append(CLOCK.wall))
g()
g()
report(calls=len(calls), gap=calls[1] - calls[0])
"#;

#[test]
fn seed_normal_path_is_unchanged() {
    let dir = rewrite("seed_throttler.py", &[]);
    let new = scenario(dir.path(), "seed_throttler", SEED_NORMAL);
    let old = scenario(dir.path(), "seed_throttler_orig", SEED_NORMAL);
    assert_eq!(new["calls"], 2);
    // The second call waits the threshold, then proceeds.
    assert!(f(&new, "gap") >= 2.0, "{new}");
    assert!(sleeps(&new).iter().any(|s| (*s - 2.0).abs() < 1e-3), "{new}");
    assert_eq!(sleeps(&new), sleeps(&old), "the rewrite changed the normal path");
    assert_eq!(new["gap"], old["gap"]);
}

const SEED_STUCK_WALL: &str = r#"
CLOCK.freeze_wall = True
t = MOD.throttler(threshold=2)
t._last_time_called = CLOCK.wall
value, error, message = outcome(t.sleep)
report(error=error, message=message)
"#;

#[test]
fn seed_wall_clock_that_never_advances_ends_within_the_deadline() {
    let dir = rewrite("seed_throttler.py", &[]);
    let old = scenario(dir.path(), "seed_throttler_orig", SEED_STUCK_WALL);
    assert_eq!(old["message"], "runaway", "the original loop should never end: {old}");
    let new = scenario(dir.path(), "seed_throttler", SEED_STUCK_WALL);
    assert_eq!(new["error"], "TimeoutError", "{new}");
    let message = new["message"].as_str().unwrap();
    assert!(message.contains("throttler.sleep"), "{message}");
    // Monotonic time kept moving: the deadline (300 s) ended it, not the attempts.
    let elapsed = f(&new, "elapsed");
    assert!((299.0..=300.001).contains(&elapsed), "elapsed {elapsed}");
    assert!(sleeps(&new).len() < 1000);
}

const SEED_STEPPED_BACK: &str = r#"
t = MOD.throttler(threshold=2)
t._last_time_called = CLOCK.wall + 86400  # the wall clock stepped back a day
value, error, message = outcome(t.sleep)
report(error=error, message=message, first=CLOCK.sleeps[0])
"#;

#[test]
fn seed_huge_computed_wait_is_clamped_to_the_time_left() {
    let dir = rewrite("seed_throttler.py", &[]);
    let old = scenario(dir.path(), "seed_throttler_orig", SEED_STEPPED_BACK);
    assert!(f(&old, "first") > 86000.0, "the original sleeps for a day: {old}");
    let new = scenario(dir.path(), "seed_throttler", SEED_STEPPED_BACK);
    assert!(f(&new, "first") <= 300.0, "{new}");
    assert!(sleeps(&new).iter().all(|s| *s <= 300.0), "{new}");
    assert!(f(&new, "elapsed") <= 300.001, "{new}");
    assert_eq!(new["error"], "TimeoutError");
}

const NEGATIVE_DELAY: &str = r#"
attempts = []
def make_connection():
    attempts.append(1)
    if len(attempts) < 3:
        raise OSError('refused')
    return 'conn'
value, error, message = outcome(MOD.connect, make_connection, -1.0)
report(value=value, error=error, attempts=len(attempts))
"#;

#[test]
fn negative_computed_wait_no_longer_crashes() {
    let dir = rewrite("retry_until_no_exception.py", &[]);
    let old = scenario(dir.path(), "retry_until_no_exception_orig", NEGATIVE_DELAY);
    assert_eq!(old["error"], "ValueError", "{old}");
    let new = scenario(dir.path(), "retry_until_no_exception", NEGATIVE_DELAY);
    assert_eq!(new["value"], "conn", "{new}");
    assert_eq!(new["attempts"], 3);
    assert_eq!(sleeps(&new), [0.0, 0.0]);
}

const POLL: &str = r#"
class Server:
    def __init__(self, status):
        self.status = status

class Client:
    def __init__(self, ready_after):
        self.calls = 0
        self.ready_after = ready_after
    def get_server(self, server_id):
        self.calls += 1
        return Server('ACTIVE' if self.calls > self.ready_after else 'BUILD')

import os
if os.environ.get('FROZEN'):
    CLOCK.freeze()
client = Client(int(os.environ.get('READY_AFTER', '3')))
value, error, message = outcome(MOD.ServerWaiter(client).wait_for_active, 'srv-1')
report(status=value.status if value else None, error=error, message=message, calls=client.calls)
"#;

#[test]
fn polling_loop_returns_as_soon_as_ready() {
    let dir = rewrite("poll_until_status.py", &[]);
    let new = scenario(dir.path(), "poll_until_status", POLL);
    assert_eq!(new["status"], "ACTIVE", "{new}");
    assert_eq!(new["calls"], 4);
    assert_eq!(sleeps(&new), [2.0, 2.0, 2.0]);
    let old = scenario(dir.path(), "poll_until_status_orig", POLL);
    assert_eq!(sleeps(&new), sleeps(&old));
}

#[test]
fn frozen_clocks_end_by_max_attempts_naming_the_function() {
    let dir = rewrite("poll_until_status.py", &[]);
    let script = format!("import os\nos.environ['FROZEN'] = '1'\nos.environ['READY_AFTER'] = '1000000'\n{POLL}");
    let new = scenario(dir.path(), "poll_until_status", &script);
    assert_eq!(new["error"], "TimeoutError", "{new}");
    assert_eq!(new["calls"], 1000, "max_attempts (1000) ends the loop");
    let message = new["message"].as_str().unwrap();
    assert!(message.contains("ServerWaiter.wait_for_active") && message.contains("1000 attempts"), "{message}");
    let old = scenario(dir.path(), "poll_until_status_orig", &script);
    assert_eq!(old["message"], "runaway", "{old}");
}

const BREAK_MODE: &str = r#"
import os
checks = []
def check():
    checks.append(1)
    return False
if os.environ.get('FROZEN'):
    CLOCK.freeze()
value, error, message = outcome(MOD.wait_for, check)
report(value=value, error=error, checks=len(checks))
"#;

#[test]
fn on_exhaust_break_carries_on_after_the_loop() {
    let args = ["--on-exhaust", "break", "--max-attempts", "50", "--deadline", "30"];
    let dir = rewrite("on_exhaust_break.py", &args);
    // Frozen clock: 50 attempts, then the line after the loop runs.
    let frozen =
        scenario(dir.path(), "on_exhaust_break", &format!("import os\nos.environ['FROZEN'] = '1'\n{BREAK_MODE}"));
    assert_eq!(frozen["error"], Value::Null, "{frozen}");
    assert_eq!(frozen["value"], false);
    assert_eq!(frozen["checks"], 51, "50 in the loop and one after it");
    // Moving clock with one-second sleeps: the 30 s deadline ends it first.
    let moving = scenario(dir.path(), "on_exhaust_break", BREAK_MODE);
    assert_eq!(moving["error"], Value::Null, "{moving}");
    assert_eq!(moving["value"], false);
    assert!(f(&moving, "elapsed") <= 30.001, "{moving}");
    assert!(moving["checks"].as_u64().unwrap() < 51, "{moving}");
}

const ASYNC_POLL: &str = r#"
import os
probes = []
async def probe():
    probes.append(1)
    return len(probes) >= int(os.environ.get('READY_AFTER', '3'))
if os.environ.get('FROZEN'):
    CLOCK.freeze()
value, error, message = outcome(lambda: asyncio.run(MOD.wait_until_ready(probe)))
report(value=value, error=error, message=message, probes=len(probes))
"#;

#[test]
fn async_poll_is_bounded_and_returns_when_ready() {
    let dir = rewrite("async_poll.py", &[]);
    let ready = scenario(dir.path(), "async_poll", ASYNC_POLL);
    assert_eq!(ready["value"], true, "{ready}");
    assert_eq!(ready["probes"], 3);
    assert_eq!(sleeps(&ready), [0.25, 0.25]);
    let script = format!("import os\nos.environ['FROZEN'] = '1'\nos.environ['READY_AFTER'] = '1000000'\n{ASYNC_POLL}");
    let stuck = scenario(dir.path(), "async_poll", &script);
    assert_eq!(stuck["error"], "TimeoutError", "{stuck}");
    assert_eq!(stuck["probes"], 1000);
    assert!(stuck["message"].as_str().unwrap().contains("wait_until_ready"));
}

#[test]
fn configured_exception_is_imported_and_raised() {
    let dir = rewrite("custom_exception.py", &["--exception", "myapp.errors:RetryExhausted"]);
    let script = r#"
CLOCK.freeze()
from myapp.errors import RetryExhausted
try:
    MOD.wait_again(lambda: False)
    report(error=None)
except RetryExhausted as e:
    report(error=type(e).__module__ + '.' + type(e).__name__, message=str(e))
"#;
    let v = scenario(dir.path(), "custom_exception", script);
    assert_eq!(v["error"], "myapp.errors.RetryExhausted", "{v}");
    assert!(v["message"].as_str().unwrap().starts_with("wait_again:"), "{v}");
    assert_eq!(sleeps(&v).len(), 1000);
}

#[test]
fn shadowed_time_uses_its_own_import_and_keeps_the_shadow() {
    let dir = rewrite("time_shadowed.py", &[]);
    let script = r#"
CLOCK.freeze()
value, error, message = outcome(MOD.wait_for, lambda: False)
report(error=error, hour=MOD.opening_hour().isoformat())
"#;
    let v = scenario(dir.path(), "time_shadowed", script);
    assert_eq!(v["error"], "TimeoutError", "{v}");
    assert_eq!(v["hour"], "09:00:00", "`time` still names datetime.time");
    assert_eq!(sleeps(&v).len(), 1000);
}

#[test]
fn every_sleep_alias_is_bounded() {
    let dir = rewrite("alias_imports.py", &[]);
    let script = r#"
CLOCK.freeze()
class Never:
    def ready(self):
        return False
results = {}
for name in ['wait_ready', 'wait_green', 'wait_eventlet', 'wait_nap']:
    before = len(CLOCK.sleeps)
    value, error, message = outcome(getattr(MOD, name), Never())
    results[name] = [error, len(CLOCK.sleeps) - before]
report(results=results)
"#;
    let v = scenario(dir.path(), "alias_imports", script);
    for name in ["wait_ready", "wait_green", "wait_eventlet", "wait_nap"] {
        assert_eq!(v["results"][name], serde_json::json!(["TimeoutError", 1000]), "{name}: {v}");
    }
}

#[test]
fn crlf_file_stays_crlf_and_runs() {
    let dir = rewrite("crlf.py", &[]);
    let bytes = std::fs::read(dir.path().join("crlf.py")).unwrap();
    let lf = bytes.iter().filter(|b| **b == b'\n').count();
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    assert_eq!(lf, crlf, "every line ending is CRLF");
    let script = r#"
n = []
value, error, message = outcome(MOD.wait_for, lambda: n.append(1) or len(n) >= 3)
report(value=value, error=error)
"#;
    let v = scenario(dir.path(), "crlf", script);
    assert_eq!(v["value"], true, "{v}");
    assert_eq!(sleeps(&v), [1.0, 1.0]);
}

/// Found by the fuzzer: with more bare CRs (in a docstring) than LF line
/// endings, tame rendered its new lines with CR endings, which tree-sitter
/// could not parse: `tame fix` failed with an internal error.
#[test]
fn bare_crs_in_a_docstring_do_not_set_the_line_ending() {
    let dir = rewrite("bare_cr_in_docstring.py", &[]);
    let original = std::fs::read(repo().join("tests/fixtures/bounded-retry/bare_cr_in_docstring.py")).unwrap();
    let bytes = std::fs::read(dir.path().join("bare_cr_in_docstring.py")).unwrap();
    let crs = |b: &[u8]| b.iter().filter(|c| **c == b'\r').count();
    assert_eq!(crs(&bytes), crs(&original), "the new lines end with LF, as the code does");
    let script = r#"
n = []
value, error, message = outcome(MOD.wait_for, lambda: n.append(1) or len(n) >= 3)
report(value=value, error=error)
"#;
    let v = scenario(dir.path(), "bare_cr_in_docstring", script);
    assert_eq!(v["value"], true, "{v}");
    assert_eq!(sleeps(&v), [1.0, 1.0]);
}

#[test]
fn two_loops_in_one_function_each_keep_their_own_budget() {
    let dir = rewrite("two_loops_one_function.py", &[]);
    let script = r#"
a, b = [], []
value, error, message = outcome(MOD.wait_both, lambda: a.append(1) or len(a) >= 2, lambda: b.append(1) or len(b) >= 3)
report(error=error, a=len(a), b=len(b), module_attempts=MOD._attempts)
"#;
    let v = scenario(dir.path(), "two_loops_one_function", script);
    assert_eq!(v["error"], Value::Null, "{v}");
    assert_eq!((v["a"].as_u64(), v["b"].as_u64()), (Some(2), Some(3)));
    assert_eq!(sleeps(&v), [1.0, 2.0, 2.0]);
    assert_eq!(v["module_attempts"], "taken by the module", "the module's `_attempts` is untouched");
}

#[test]
fn old_else_clause_still_never_runs() {
    let dir = rewrite("else_clause.py", &[]);
    let script = r#"
CLOCK.freeze()
value, error, message = outcome(MOD.wait_for, lambda: False)
report(error=error)
"#;
    let script = format!("{PRELUDE}\nimport else_clause as MOD\n{script}");
    let (ok, out) = python(&script, dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("\"error\": \"TimeoutError\""), "{out}");
    assert!(!out.contains("never reached"), "the old else body ran:\n{out}");
}

const CONDITIONAL: &str = r#"
class Client:
    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.calls = 0

    def get(self, volume_id):
        self.calls += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return type('Volume', (), {'status': status})()

import os
mode = os.environ.get('SCENARIO')
if mode == 'frozen':
    CLOCK.freeze()
statuses = ['creating', 'creating', 'available'] if mode == 'normal' else ['creating']
client = Client(statuses)
value, error, message = outcome(MOD.wait_until_available, client, 'v1')
report(value=value, error=error, message=message, calls=client.calls)
"#;

fn conditional(dir: &Path, module: &str, mode: &str) -> Value {
    let script = CONDITIONAL.replace("os.environ.get('SCENARIO')", &format!("{mode:?}"));
    scenario(dir, module, &script)
}

#[test]
fn conditional_wait_normal_path_is_unchanged() {
    let dir = rewrite("conditional_wait.py", &[]);
    let new = conditional(dir.path(), "conditional_wait", "normal");
    let old = conditional(dir.path(), "conditional_wait_orig", "normal");
    assert_eq!(new["value"], "available", "{new}");
    assert_eq!(new["error"], Value::Null, "{new}");
    assert_eq!(sleeps(&new), vec![2.0, 2.0], "{new}");
    assert_eq!(sleeps(&new), sleeps(&old), "the rewrite changed the normal path");
    assert_eq!(new["calls"], old["calls"]);
}

#[test]
fn conditional_wait_never_ready_ends_by_the_deadline() {
    let dir = rewrite("conditional_wait.py", &[]);
    let old = conditional(dir.path(), "conditional_wait_orig", "never");
    assert_eq!(old["message"], "runaway", "the original loop should never end: {old}");
    let new = conditional(dir.path(), "conditional_wait", "never");
    assert_eq!(new["error"], "TimeoutError", "{new}");
    assert!(new["message"].as_str().unwrap().contains("wait_until_available"), "{new}");
    let elapsed = f(&new, "elapsed");
    assert!((299.0..=300.001).contains(&elapsed), "elapsed {elapsed}");
    // Every sleep stayed within the time left.
    assert!(sleeps(&new).iter().all(|s| *s <= 2.0 && *s >= 0.0), "{new}");
}

#[test]
fn conditional_wait_frozen_clocks_end_by_max_attempts() {
    let dir = rewrite("conditional_wait.py", &[]);
    let new = conditional(dir.path(), "conditional_wait", "frozen");
    assert_eq!(new["error"], "TimeoutError", "{new}");
    // 1000 passes of the body (the test limit), each one sleep.
    assert_eq!(sleeps(&new).len(), 1000, "{new}");
    assert_eq!(new["calls"], 1001, "{new}");
}

#[test]
fn conditional_wait_on_exhaust_break_leaves_the_loop() {
    let dir = rewrite("conditional_on_exhaust_break.py", &["--on-exhaust", "break"]);
    let script = r#"
class FS:
    def exists(self, path):
        return False
value, error, message = outcome(MOD.wait_for_file, FS(), '/x')
report(value=value, error=error)
"#;
    let new = scenario(dir.path(), "conditional_on_exhaust_break", script);
    assert_eq!(new["value"], false, "{new}");
    assert_eq!(new["error"], Value::Null, "{new}");
    let elapsed = f(&new, "elapsed");
    assert!((299.0..=300.001).contains(&elapsed), "elapsed {elapsed}");
}
