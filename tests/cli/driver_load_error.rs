//! driver-load-error behaviour tests: rewritten loaders run under CPython
//! with a fake loader.
//!
//! Each test copies a fixture into a scratch repository with fake modules for
//! what it imports (the loader, oslo.log, stevedore), rewrites it with the
//! real binary, and runs a Python script that drives both paths: a driver
//! that fails to import and one that loads. The scripts first run against the
//! original file, where the failure must end in `SystemExit`, so a test cannot
//! pass because the fake is wired wrong.

use std::path::Path;

use crate::common::*;

/// Fake modules: `(path, source)`. The fake loaders raise `ImportError` for
/// the driver name `missing`, `ValueError` for `bad`, and otherwise return
/// a small driver class that records its constructor arguments.
const FAKES: &[(&str, &str)] = &[
    ("eventlet.py", "def sleep(seconds):\n    pass\n"),
    ("oslo_log/__init__.py", ""),
    ("oslo_log/log.py", "import logging\n\n\ndef getLogger(name):\n    return logging.getLogger(name)\n"),
    ("oslo_utils/__init__.py", ""),
    (
        "oslo_utils/importutils.py",
        r#"
class Driver(object):
    def __init__(self, *args):
        self.args = args


def import_class(name):
    if name == "missing":
        raise ImportError("No module named %r" % name)
    if name == "bad":
        raise ValueError("not a class path: %r" % name)
    return Driver


def import_object(name, *args):
    return import_class(name)(*args)
"#,
    ),
    ("neutron_agent/__init__.py", ""),
    (
        "neutron_agent/neutron_utils.py",
        r#"
from oslo_utils import importutils


def load_class_by_alias_or_classname(namespace, name):
    return importutils.import_class(name)
"#,
    ),
    ("myapp/__init__.py", ""),
    ("myapp/exceptions.py", "class DriverNotLoaded(Exception):\n    pass\n"),
    ("myapp/errors.py", "class AppError(Exception):\n    pass\n"),
    (
        "myapp/plugins.py",
        r#"
def load_plugin(kind, name):
    if name == "missing":
        raise LookupError("no %s plugin %r" % (kind, name))
    return (kind, name)
"#,
    ),
    ("stevedore/__init__.py", ""),
    (
        "stevedore/driver.py",
        r#"
# Like stevedore: a load failure is handed to the callback inside the
# manager's own except clause; a missing name goes to the other callback.
from oslo_utils import importutils


class DriverManager(object):
    def __init__(self, namespace, name, invoke_on_load=False, invoke_args=(),
                 on_load_failure_callback=None,
                 on_missing_entrypoints_callback=None):
        if name == "absent":
            on_missing_entrypoints_callback([name])
            return
        try:
            self.driver = importutils.import_object(name, *invoke_args)
        except Exception as err:
            on_load_failure_callback(self, "entrypoint:" + name, err)
"#,
    ),
];

/// The Python prelude: the fixture's directory on `sys.path`, and every log
/// record kept in `RECORDS` as `(level, message)`.
const PRELUDE: &str = r#"
import importlib
import logging
import sys

sys.path.insert(0, ".")
RECORDS = []


class Keep(logging.Handler):
    def emit(self, record):
        RECORDS.append((record.levelname, record.getMessage()))


logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.DEBUG)


class Conf(object):
    def __init__(self, **kw):
        self.__dict__.update(kw)


def expect_raise(fn, *args):
    try:
        fn(*args)
    except BaseException as e:
        return e
    raise AssertionError("%s did not raise" % fn.__name__)
"#;

/// A scratch repository holding `fixture` and the fakes.
fn scratch(fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in FAKES {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let src = repo().join("tests/fixtures/driver-load-error").join(fixture);
    std::fs::copy(&src, dir.path().join(fixture)).unwrap();
    git_init(dir.path());
    dir
}

/// Rewrites `fixture` in `dir` with `tame fix` and returns the new text.
fn rewrite(dir: &Path, fixture: &str, extra: &[&str]) -> String {
    let before = std::fs::read_to_string(dir.join(fixture)).unwrap();
    let mut args = vec!["fix", "--only", "driver-load-error"];
    args.extend_from_slice(extra);
    args.push(fixture);
    let (code, _, stderr) = run(dir, &args);
    assert_eq!(code, 0, "tame fix failed: {stderr}");
    let after = std::fs::read_to_string(dir.join(fixture)).unwrap();
    assert_ne!(before, after, "tame fix changed nothing");
    after
}

/// Runs `script` after the prelude in `dir`; panics with the output on failure.
fn run_python(dir: &Path, script: &str) -> String {
    let (ok, out) = python(&format!("{PRELUDE}\n{script}"), dir);
    assert!(ok, "python failed:\n{out}");
    out
}

#[test]
fn seed_loader_raises_a_chained_typed_exception_and_still_logs() {
    let dir = scratch("seed_loader.py");
    // The original ends the process.
    run_python(
        dir.path(),
        r#"
import seed_loader
e = expect_raise(seed_loader.load_interface_driver, Conf(interface_driver="missing"))
assert type(e) is SystemExit and e.code == 1, repr(e)
"#,
    );
    rewrite(dir.path(), "seed_loader.py", &[]);
    let out = run_python(
        dir.path(),
        r#"
import seed_loader
e = expect_raise(seed_loader.load_interface_driver, Conf(interface_driver="missing"))
assert type(e) is seed_loader.DriverLoadError, repr(e)
assert isinstance(e, Exception) and not isinstance(e, SystemExit)
assert type(e.__cause__) is ImportError, repr(e.__cause__)
assert str(e.__cause__) == "No module named 'missing'", str(e.__cause__)
assert str(e) == "Error loading interface driver 'missing'", str(e)
assert RECORDS == [("ERROR", "Error loading interface driver 'missing'")], RECORDS
assert ":raises DriverLoadError" in seed_loader.load_interface_driver.__doc__

del RECORDS[:]
conf = Conf(interface_driver="fake.Driver")
driver = seed_loader.load_interface_driver(conf)
assert type(driver).__name__ == "Driver" and driver.args == (conf,), driver.args
assert RECORDS == [], RECORDS
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

#[test]
fn every_handler_and_the_missing_driver_check_raise_with_their_cause() {
    let dir = scratch("multi_handler_loader.py");
    run_python(
        dir.path(),
        r#"
import multi_handler_loader as m
for name in ("missing", "bad", ""):
    e = expect_raise(m.load_firewall_driver, Conf(firewall_driver=name))
    assert type(e) is SystemExit and e.code == 1, (name, repr(e))
"#,
    );
    rewrite(dir.path(), "multi_handler_loader.py", &[]);
    let out = run_python(
        dir.path(),
        r#"
import multi_handler_loader as m

e = expect_raise(m.load_firewall_driver, Conf(firewall_driver="missing"))
assert type(e) is m.DriverLoadError and type(e.__cause__) is ImportError, repr(e)
assert str(e) == "Could not import firewall driver missing", str(e)
assert RECORDS == [("ERROR", "Could not import firewall driver missing")], RECORDS

del RECORDS[:]
e = expect_raise(m.load_firewall_driver, Conf(firewall_driver="bad"))
assert type(e) is m.DriverLoadError and type(e.__cause__) is ValueError, repr(e)
assert str(e) == "Invalid firewall driver option: bad", str(e)
assert RECORDS == [("ERROR", "Invalid firewall driver option: bad")], RECORDS

# The "no driver configured" check: no exception to chain to.
del RECORDS[:]
e = expect_raise(m.load_firewall_driver, Conf(firewall_driver=""))
assert type(e) is m.DriverLoadError and e.__cause__ is None, repr(e)
assert str(e) == "No firewall driver configured", str(e)
assert RECORDS == [("ERROR", "No firewall driver configured")], RECORDS

# The method whose handlers (not its name) make it driver-loading code.
e = expect_raise(m.QuotaAgent, Conf(quota_driver="missing"))
assert type(e) is m.DriverLoadError and type(e.__cause__) is ImportError, repr(e)
assert str(e) == "Quota driver missing not found", str(e)
e = expect_raise(m.QuotaAgent, Conf(quota_driver=None))
assert type(e) is m.DriverLoadError and str(e) == "quota_driver is not set", repr(e)

del RECORDS[:]
conf = Conf(firewall_driver="fake.Firewall")
driver = m.load_firewall_driver(conf)
assert type(driver).__name__ == "Driver" and driver.args == (conf,), driver.args
assert RECORDS == [], RECORDS
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

#[test]
fn configured_exception_is_imported_and_raised() {
    let dir = scratch("configured_import.py");
    let args = ["--driver-exception", "myapp.exceptions:DriverNotLoaded"];
    let text = rewrite(dir.path(), "configured_import.py", &args);
    assert_eq!(text.matches("from myapp.exceptions import DriverNotLoaded").count(), 1, "{text}");
    assert!(!text.contains("class DriverNotLoaded"), "{text}");
    let out = run_python(
        dir.path(),
        r#"
import configured_import as m
from myapp.exceptions import DriverNotLoaded
for fn, attr in ((m.load_volume_driver, "volume_driver"), (m.load_backup_driver, "backup_driver")):
    del RECORDS[:]
    e = expect_raise(fn, Conf(**{attr: "missing"}))
    assert type(e) is DriverNotLoaded, repr(e)
    assert type(e.__cause__) is ImportError, repr(e.__cause__)
    assert len(RECORDS) == 1 and RECORDS[0][0] == "ERROR", RECORDS
    assert str(e) == RECORDS[0][1], (str(e), RECORDS)
    assert type(fn(Conf(**{attr: "fake.Driver"}))).__name__ == "Driver"
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

#[test]
fn stevedore_callbacks_raise_through_the_manager() {
    let dir = scratch("stevedore_callbacks.py");
    run_python(
        dir.path(),
        r#"
import stevedore_callbacks as m
e = expect_raise(m.BackendManager, Conf(backend="missing"))
assert type(e) is SystemExit, repr(e)
"#,
    );
    rewrite(dir.path(), "stevedore_callbacks.py", &[]);
    let out = run_python(
        dir.path(),
        r#"
import stevedore_callbacks as m

e = expect_raise(m.BackendManager, Conf(backend="missing"))
assert type(e) is m.DriverLoadError, repr(e)
# Chained to the exception stevedore hands the callback.
assert type(e.__cause__) is ImportError and str(e) == str(e.__cause__), (repr(e), repr(e.__cause__))
assert [r[0] for r in RECORDS] == ["ERROR"], RECORDS

e = expect_raise(m.BackendManager, Conf(backend="absent"))
assert type(e) is m.DriverLoadError and str(e) == "Storage backend(s) absent not found", repr(e)

e = expect_raise(m.make_extension_manager, Conf(backend="bad"))
assert type(e) is m.DriverLoadError and type(e.__cause__) is ValueError, repr(e)
assert str(e) == "Backend entrypoint:bad is unusable: not a class path: 'bad'", str(e)

manager = m.BackendManager(Conf(backend="fake.Backend"))
assert type(manager.manager.driver).__name__ == "Driver"
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

#[test]
fn left_alone_exits_still_end_the_process() {
    // The negatives keep their behaviour: `tame fix` leaves them byte for byte.
    for fixture in ["neg_main.py", "neg_optional_import.py", "neg_daemon_fork.py", "neg_config_parse.py"] {
        let dir = scratch(fixture);
        let before = std::fs::read(dir.path().join(fixture)).unwrap();
        let (code, _, stderr) = run(dir.path(), &["fix", "--only", "driver-load-error", fixture]);
        assert_eq!(code, 0, "{fixture}: {stderr}");
        assert_eq!(std::fs::read(dir.path().join(fixture)).unwrap(), before, "{fixture} was changed");
    }
    let dir = scratch("neg_main.py");
    let (code, _, stderr) = run(dir.path(), &["fix", "--only", "driver-load-error", "neg_main.py"]);
    assert_eq!(code, 0, "{stderr}");
    let out = run_python(
        dir.path(),
        r#"
import neg_main
e = expect_raise(neg_main.main, ["no_such_driver_module"])
assert type(e) is SystemExit and e.code == 2, repr(e)
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

#[test]
fn every_option_shapes_the_rewrite() {
    let dir = scratch("custom_options.py");
    let text = std::fs::read_to_string(dir.path().join("custom_options.py")).unwrap();
    let line = text.lines().next().unwrap().strip_prefix("# tame-args:").unwrap().to_owned();
    let args: Vec<&str> = line.split_whitespace().collect();
    rewrite(dir.path(), "custom_options.py", &args);
    let out = run_python(
        dir.path(),
        r#"
import custom_options as m
from myapp.errors import AppError
assert issubclass(m.DriverLoadError, AppError)

# The configured function_regex.
e = expect_raise(m.setup_backend, Conf(backend=""))
assert type(e) is m.DriverLoadError and str(e) == "no backend configured", repr(e)
assert m.setup_backend(Conf(backend="disk")) == ("backends", "disk")

# The configured loader: the message names the driver it was given.
e = expect_raise(m.make_codec, Conf(codec="missing"))
assert type(e) is m.DriverLoadError and type(e.__cause__) is LookupError, repr(e)
assert str(e) == "Could not load driver missing", str(e)

# Outside both, the exit stays.
e = expect_raise(m.load_cache_driver, Conf(cache_driver="missing"))
assert type(e) is SystemExit and e.code == 1, repr(e)
print("checked")
"#,
    );
    assert!(out.contains("checked"), "{out}");
}

/// A package with two loader modules, an exceptions module and a test module
/// that pins their exits: one `DriverLoadError` for the package, and the
/// provable assertions expect it (the others are listed in the report).
#[test]
fn one_exception_per_package_and_tests_that_pinned_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let loader = |name: &str| {
        format!(
            "import importlib\nimport sys\n\n\ndef load_{name}_driver(driver):\n    try:\n        return \
             importlib.import_module(driver)\n    except ImportError:\n        sys.exit(\"no {name} driver\")\n"
        )
    };
    let files = [
        ("pkg/__init__.py", String::new()),
        ("pkg/exceptions.py", "class PkgError(Exception):\n    pass\n".to_owned()),
        ("pkg/net.py", loader("net")),
        ("pkg/disk.py", loader("disk")),
        ("pkg/cli.py", "import sys\n\n\ndef main():\n    sys.exit(2)\n".to_owned()),
        ("pkg/tests/__init__.py", String::new()),
        (
            "pkg/tests/test_load.py",
            "import unittest\n\nfrom pkg import cli\nfrom pkg import net\nfrom pkg.disk import load_disk_driver\n\n\n\
             class TestLoad(unittest.TestCase):\n    def test_callable(self):\n        self.assertRaises(SystemExit, \
             net.load_net_driver, 'missing_mod')\n\n    def test_with(self):\n        with \
             self.assertRaises(SystemExit):\n            load_disk_driver('missing_mod')\n\n    def test_status(self):\n        \
             with self.assertRaises(SystemExit) as cm:\n            load_disk_driver('missing_mod')\n        \
             self.assertTrue(cm.exception.code)\n\n    def test_main(self):\n        self.assertRaises(SystemExit, \
             cli.main)\n"
                .to_owned(),
        ),
    ];
    for (path, text) in &files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git_init(dir.path());
    let (code, _, err) = run(dir.path(), &["fix", "--only", "driver-load-error", "--report", "PR.md", "pkg"]);
    assert_eq!(code, 0, "{err}");
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let defs: usize = files.iter().map(|(p, _)| read(p).matches("class DriverLoadError").count()).sum();
    assert_eq!(defs, 1, "one class for the package");
    assert!(read("pkg/exceptions.py").contains("class DriverLoadError(Exception):"));
    assert!(read("pkg/net.py").contains("from pkg.exceptions import DriverLoadError"));
    let test = read("pkg/tests/test_load.py");
    assert!(test.contains("self.assertRaises(DriverLoadError, net.load_net_driver"), "{test}");
    assert!(test.contains("with self.assertRaises(DriverLoadError):"), "{test}");
    assert!(test.contains("with self.assertRaises(SystemExit) as cm:"), "status read: left alone: {test}");
    assert!(test.contains("self.assertRaises(SystemExit, cli.main)"), "not a loader: left alone: {test}");
    let report = read("PR.md");
    assert!(report.contains("Check these tests") && report.contains("`pkg/tests/test_load.py:18`"), "{report}");
    assert!(!report.contains("test_load.py:22"), "{report}");
    // The rewritten tests pass (the one reading `.code` is the reviewer's).
    let (ok, out) = python(
        "import unittest, sys\nfrom pkg.tests import test_load\nt = test_load.TestLoad\nsuite = \
         unittest.TestSuite([t('test_callable'), t('test_with'), t('test_main')])\nr = \
         unittest.TextTestRunner().run(suite)\nsys.exit(not r.wasSuccessful())\n",
        dir.path(),
    );
    assert!(ok, "{out}");
}
