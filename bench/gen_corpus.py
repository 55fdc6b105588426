#!/usr/bin/env python3
"""Generate a deterministic synthetic Python corpus for benchmarking tame (issue 6).

The corpus looks like a tree of ordinary service code: packages of modules with
license headers, imports, module constants, classes with docstrings, methods,
try/except, loops, comprehensions, logging and comments; most files are a few
hundred lines, a few are several thousand.

The shapes tame's transforms look for are mixed in at the density of real code:

* about 3% of files ("candidate" files) contain one to three candidates:
  unbounded `while True` wait loops that `time.sleep`/`eventlet.sleep`, loops
  already bounded by a counter or a deadline, service loops, cooperative
  yields, driver loaders that `raise SystemExit(1)` or `sys.exit(1)` in an
  `except ImportError`, and `sys.exit` in a `main()`. Candidate files are
  biased towards large files, as in real trees;
* about 3.5% of files ("decoy" files) contain the trigger literals without a
  candidate: `os._exit` in a forked child, `assertRaises(SystemExit)` in a
  test, a `sleep_interval` option next to an ordinary `while` loop, "sleep"
  in a docstring;
* every other file contains none of the transforms' trigger literal sets
  (`while`+`sleep`, `SystemExit`, `exit(`, `quit(`, `exit as`, `quit as`),
  although many contain `while` alone and some define `__exit__`, as real
  code does.

Output: OUT/shard-0 .. OUT/shard-(SCALE-1). Each shard is a 1x corpus
(10,000 Python files, about 3 million lines and 125 MB, seeded by --seed and its
index), so a 2x run covers shard-0 and shard-1, and every shard has the same
distribution. A shard that already exists with the same parameters (see its
MANIFEST.json) is kept, not regenerated.

Usage: gen_corpus.py OUT [--scale 1|2|4|N] [--seed 6] [--files 10000] [--verify]

Standard library only. Writes a MANIFEST.json per shard with its counts.
"""

import argparse
import json
import os
import random
import shutil
import sys
import time

GENERATOR_VERSION = 4

# ---------------------------------------------------------------------------
# Vocabulary. None of these words may contain "sleep", "exit", "quit" or
# "SystemExit": ordinary files must not contain the trigger literals by accident.
NOUNS = [
    "account", "agent", "alarm", "allocation", "backup", "binding", "bucket", "cache", "catalog",
    "certificate", "cluster", "config", "connection", "container", "credential", "domain", "endpoint",
    "event", "flavor", "group", "host", "image", "instance", "interface", "invoice", "job", "key",
    "listener", "member", "message", "metric", "migration", "network", "node", "object", "order",
    "policy", "pool", "port", "project", "quota", "record", "region", "report", "request", "resource",
    "role", "route", "router", "rule", "schedule", "secret", "segment", "server", "service", "session",
    "share", "snapshot", "stack", "subnet", "subscription", "tag", "task", "template", "tenant",
    "token", "topic", "trunk", "user", "volume", "worker", "zone",
]
VERBS = [
    "get", "list", "create", "update", "delete", "build", "parse", "validate", "fetch", "sync",
    "compute", "render", "format", "check", "ensure", "apply", "collect", "convert", "filter",
    "find", "handle", "merge", "normalize", "prepare", "process", "refresh", "register", "remove",
    "reset", "restore", "save", "schedule", "serialize", "split", "store", "translate", "notify",
]
ADJS = [
    "active", "default", "current", "pending", "remote", "local", "new", "old", "extra", "raw",
    "cached", "parent", "target", "source", "primary", "shared", "public", "private", "internal",
]
ATTRS = [
    "id", "name", "status", "state", "size", "count", "created_at", "updated_at", "owner",
    "project_id", "description", "metadata", "labels", "version", "address", "uuid", "kind",
]
STATUSES = ["active", "available", "error", "building", "deleted", "in-use", "pending", "ready", "failed"]
EXC_NAMES = [
    "NotFound", "Conflict", "InvalidInput", "QuotaExceeded", "Forbidden", "BadRequest",
    "ServiceUnavailable", "InvalidState", "Duplicate", "ValidationError",
]
STD_IMPORTS = [
    "collections", "copy", "datetime", "functools", "hashlib", "itertools", "json", "logging",
    "os", "re", "socket", "string", "threading", "uuid", "abc", "contextlib", "enum", "math",
    "operator", "random", "struct", "tempfile", "typing", "weakref", "base64", "shutil",
]
THIRD_IMPORTS = [
    ("oslo_config", "cfg"), ("oslo_log", "log as logging"), ("oslo_utils", "excutils"),
    ("oslo_utils", "timeutils"), ("oslo_utils", "uuidutils"), ("oslo_serialization", "jsonutils"),
    ("oslo_concurrency", "lockutils"), ("sqlalchemy", "orm"), ("webob", "exc"),
]
# English for comments and docstrings ("while" is common in prose; no sleep/exit/quit).
WORDS = (
    "the a an this that each every some any of to in on for with from by as is are be was were "
    "not only also then when while if unless until because so but and or "
    "value result request response object list item entry record field key name id state status "
    "driver backend client server host port user project tenant resource quota limit cache "
    "returns return raises update create delete fetch load store read write check validate "
    "handle process parse format build make use keep skip retry wait call run start stop "
    "here there now later first last next previous new old current default given empty "
    "database table row column index query filter order group page size count total "
    "note todo fixme workaround compatibility legacy deprecated api version upgrade "
    "should must may can will would could does do did has have had "
    "we it they them its their our which what where who how why"
).split()

PROJECTS = ["nimbus", "stratus", "cirrus", "halyard", "keel", "bosun", "capstan", "davit", "windlass", "mizzen"]


class Gen:
    """Writes one module's text into a list of lines."""

    def __init__(self, rnd, project):
        self.r = rnd
        self.project = project
        self.lines = []
        self.need = set()  # extra imports a snippet needs: "time", "eventlet", "sys", ...

    # -- small pieces -------------------------------------------------------
    def noun(self):
        return self.r.choice(NOUNS)

    def ident(self):
        r = self.r
        k = r.random()
        if k < 0.45:
            return r.choice(NOUNS)
        if k < 0.8:
            return r.choice(ADJS) + "_" + r.choice(NOUNS)
        return r.choice(NOUNS) + "_" + r.choice(ATTRS)

    def sentence(self, lo=4, hi=14):
        r = self.r
        words = [r.choice(WORDS) for _ in range(r.randint(lo, hi))]
        words[0] = words[0].capitalize()
        return " ".join(words) + "."

    def emit(self, depth, text):
        self.lines.append("    " * depth + text if text else "")

    def expr(self, depth=0):
        r = self.r
        k = r.random()
        if k < 0.22:
            return "self.%s" % self.ident()
        if k < 0.40:
            return "%s.%s" % (self.ident(), r.choice(ATTRS))
        if k < 0.55:
            return "self._client.%s_%s(%s)" % (r.choice(VERBS), self.noun(), self.args())
        if k < 0.63:
            return "%r" % r.choice(STATUSES)
        if k < 0.70:
            return str(r.randint(0, 4096))
        if k < 0.77:
            return "{%s}" % ", ".join("%r: %s" % (a, self.ident()) for a in r.sample(ATTRS, r.randint(1, 4)))
        if k < 0.84:
            return "[%s.%s for %s in %s if %s.%s]" % (
                "x", r.choice(ATTRS), "x", self.ident() + "s", "x", r.choice(ATTRS))
        if k < 0.90:
            return "len(%s) + %d" % (self.ident() + "s", r.randint(1, 9))
        if k < 0.95:
            return "%r %% (%s, %s)" % ("%s/%s", self.ident(), self.ident())
        return "utils.%s_%s(%s)" % (r.choice(VERBS), self.noun(), self.args())

    def args(self):
        r = self.r
        n = r.randint(0, 3)
        parts = [self.ident() for _ in range(n)]
        if r.random() < 0.4:
            parts.append("%s=%s" % (r.choice(ATTRS), self.ident()))
        return ", ".join(parts)

    def cond(self):
        r = self.r
        k = r.random()
        if k < 0.3:
            return "not %s" % self.ident()
        if k < 0.55:
            return "%s.%s == %r" % (self.ident(), "status", r.choice(STATUSES))
        if k < 0.75:
            return "%s is None" % self.ident()
        if k < 0.9:
            return "%s in %s" % (self.ident(), self.ident() + "s")
        return "len(%s) > %d" % (self.ident() + "s", r.randint(0, 100))

    # -- statements ---------------------------------------------------------
    def block(self, depth, budget, in_loop=False, allow_while=True):
        """At least one statement at `depth`, about `budget` lines."""
        r = self.r
        start = len(self.lines)
        first = True
        while first or len(self.lines) - start < budget:
            first = False
            left = budget - (len(self.lines) - start)
            k = r.random()
            if k < 0.30 or left < 3 or depth > 5:
                self.emit(depth, "%s = %s" % (self.ident(), self.expr()))
            elif k < 0.38:
                self.emit(depth, "LOG.%s(%r, %s)" % (
                    r.choice(["debug", "info", "warning"]), self.sentence(2, 6)[:-1] + " %s", self.ident()))
            elif k < 0.44:
                self.emit(depth, "# " + self.sentence())
                if r.random() < 0.3:
                    self.emit(depth, "# " + self.sentence())
            elif k < 0.56:
                self.emit(depth, "if %s:" % self.cond())
                self.block(depth + 1, min(left, r.randint(1, 6)), in_loop, allow_while)
                if r.random() < 0.35:
                    self.emit(depth, "else:")
                    self.block(depth + 1, min(left, r.randint(1, 4)), in_loop, allow_while)
            elif k < 0.65:
                self.emit(depth, "for %s in %s:" % ("item", self.ident() + "s"))
                self.block(depth + 1, min(left, r.randint(1, 6)), True, allow_while)
            elif k < 0.73:
                self.emit(depth, "try:")
                self.block(depth + 1, min(left, r.randint(1, 5)), in_loop, allow_while)
                self.emit(depth, "except exceptions.%s as exc:" % r.choice(EXC_NAMES))
                if r.random() < 0.5:
                    self.emit(depth + 1, "LOG.warning(%r, exc)" % (self.sentence(2, 5)[:-1] + ": %s"))
                if r.random() < 0.5:
                    self.emit(depth + 1, "raise exceptions.%s(%s=%s)" % (r.choice(EXC_NAMES), r.choice(ATTRS), self.ident()))
                else:
                    self.emit(depth + 1, "%s = None" % self.ident())
                if r.random() < 0.2:
                    self.emit(depth, "finally:")
                    self.emit(depth + 1, "self._%s.release()" % self.noun())
            elif k < 0.78:
                self.emit(depth, "with self._%s_lock:" % self.noun())
                self.block(depth + 1, min(left, r.randint(1, 4)), in_loop, allow_while)
            elif k < 0.81 and allow_while:
                var = self.ident() + "s"
                self.emit(depth, "while %s:" % var)
                self.emit(depth + 1, "%s = %s.pop()" % ("current", var))
                self.block(depth + 1, min(left, r.randint(1, 4)), True, allow_while)
            elif k < 0.84 and in_loop:
                self.emit(depth, "if %s:" % self.cond())
                self.emit(depth + 1, r.choice(["continue", "break"]))
            elif k < 0.90:
                self.emit(depth, "%s.%s(%s)" % (self.ident(), r.choice(VERBS), self.args()))
            elif k < 0.94:
                self.emit(depth, "%s = (" % self.ident())
                n = r.randint(2, 4)
                for j in range(n):
                    self.emit(depth + 1, "%s.%s(%s)%s" % (
                        self.ident(), r.choice(VERBS), self.args(), " or" if j < n - 1 else ")"))
            else:
                self.emit(depth, "%s.update(%s)" % (self.ident(), self.expr()))
        return

    def docstring(self, depth, params=(), long=False):
        r = self.r
        first = self.sentence(3, 9)
        if not (long or r.random() < 0.5):
            self.emit(depth, '"""%s"""' % first)
            return
        self.emit(depth, '"""%s' % first)
        self.emit(0, "")
        for _ in range(r.randint(1, 4)):
            self.emit(depth, self.sentence(6, 14))
        if params:
            self.emit(0, "")
            for p in params:
                self.emit(depth, ":param %s: %s" % (p, self.sentence(3, 8)))
            self.emit(depth, ":returns: %s" % self.sentence(2, 6))
        self.emit(depth, '"""')

    def function(self, depth, budget, method, allow_while=True):
        r = self.r
        name = "%s%s_%s" % ("_" if r.random() < 0.2 else "", r.choice(VERBS), self.noun())
        params = [self.ident() for _ in range(r.randint(0, 3))]
        params = list(dict.fromkeys(params))
        sig = (["self"] if method else []) + params
        if r.random() < 0.3:
            sig.append("%s=None" % r.choice(ATTRS))
        if method and r.random() < 0.08:
            self.emit(depth, "@property")
        elif r.random() < 0.1:
            self.emit(depth, "@utils.%s" % r.choice(["synchronized", "log_calls", "trace", "cached"]))
        self.emit(depth, "def %s(%s):" % (name, ", ".join(sig)))
        if r.random() < 0.7:
            self.docstring(depth + 1, params)
        self.block(depth + 1, max(1, budget - 3), allow_while=allow_while)
        if r.random() < 0.7:
            self.emit(depth + 1, "return %s" % self.expr())
        self.emit(0, "")

    def klass(self, budget, allow_while=True):
        r = self.r
        name = "%s%s" % (r.choice(NOUNS).capitalize(), r.choice(["Manager", "Driver", "Handler", "Controller", "API", "Client", "Plugin", "Base", "Mixin", "View"]))
        base = r.choice(["object", "base.Base", "base.%sBase" % r.choice(NOUNS).capitalize(), "abc.ABC", "Exception"])
        self.emit(0, "class %s(%s):" % (name, base))
        self.docstring(1, long=True)
        self.emit(0, "")
        if r.random() < 0.4:
            self.emit(1, "%s = %r" % (r.choice(ATTRS), r.choice(STATUSES)))
            self.emit(0, "")
        start = len(self.lines)
        self.emit(1, "def __init__(self, %s, %s=None):" % (self.noun(), r.choice(ATTRS)))
        for _ in range(r.randint(1, 5)):
            self.emit(2, "self.%s = %s" % (self.ident(), self.expr()))
        self.emit(0, "")
        while len(self.lines) - start < budget:
            self.function(1, r.randint(4, 30), True, allow_while)
        self.emit(0, "")

    # -- a whole module -------------------------------------------------------
    def header(self, subpkg):
        r = self.r
        self.emit(0, "# Copyright %d %s Developers" % (r.randint(2010, 2024), self.project.capitalize()))
        self.emit(0, "#")
        for line in (
            "#    Licensed under the Apache License, Version 2.0 (the \"License\"); you may",
            "#    not use this file except in compliance with the License. You may obtain",
            "#    a copy of the License at",
            "#",
            "#         http://www.apache.org/licenses/LICENSE-2.0",
        ):
            self.emit(0, line)
        self.emit(0, "")
        self.emit(0, '"""%s"""' % self.sentence(3, 10))
        self.emit(0, "")

    def imports(self, subpkg, extra):
        r = self.r
        std = sorted(set(r.sample(STD_IMPORTS, r.randint(1, 6))) | extra)
        for m in std:
            self.emit(0, "import %s" % m)
        self.emit(0, "")
        for mod, name in sorted(r.sample(THIRD_IMPORTS, r.randint(0, 3))):
            self.emit(0, "from %s import %s" % (mod, name))
        self.emit(0, "")
        self.emit(0, "from %s.common import exceptions" % self.project)
        self.emit(0, "from %s.common import utils" % self.project)
        for _ in range(r.randint(0, 3)):
            self.emit(0, "from %s.%s import %s" % (self.project, subpkg.replace("/", "."), self.noun()))
        self.emit(0, "")
        self.emit(0, "LOG = logging.getLogger(__name__)")
        self.emit(0, "")
        for _ in range(r.randint(0, 4)):
            self.emit(0, "%s_%s = %s" % (r.choice(ADJS).upper(), r.choice(ATTRS).upper(), r.randint(1, 600)))
        self.emit(0, "")
        self.emit(0, "")


# ---------------------------------------------------------------------------
# Candidate snippets. Each returns (lines, imports needed, label). `n` is a noun.
def snip_wait_time(r, n):
    return ([
        "def wait_for_%s(client, %s_id, interval=2):" % (n, n),
        '    """Poll until the %s is available."""' % n,
        "    while True:",
        "        %s = client.get_%s(%s_id)" % (n, n, n),
        "        if %s.status == 'available':" % n,
        "            return %s" % n,
        "        if %s.status == 'error':" % n,
        "            raise exceptions.InvalidState(%s_id)" % n,
        "        LOG.debug('Waiting for %%s', %s_id)" % n,
        "        time.sleep(interval)",
    ], {"time"}, "site:bounded-retry")


def snip_throttle_eventlet(r, n):
    return ([
        "class %sThrottler(object):" % n.capitalize(),
        "    def __init__(self, threshold):",
        "        self.throttle_threshold = threshold",
        "        self._last_time_called = 0",
        "",
        "    def throttle(self):",
        "        while True:",
        "            time_to_wait = (self._last_time_called - time.time()",
        "                            + self.throttle_threshold)",
        "            if time_to_wait < 0:",
        "                break",
        "            eventlet.sleep(time_to_wait)",
        "        self._last_time_called = time.time()",
    ], {"time", "eventlet"}, "site:bounded-retry")


def snip_wait_lock(r, n):
    return ([
        "def acquire_%s_lock(path, delay=0.5):" % n,
        "    while True:",
        "        try:",
        "            fd = os.open(path, os.O_CREAT | os.O_EXCL)",
        "            return fd",
        "        except FileExistsError:",
        "            LOG.debug('Lock %s is held, waiting', path)",
        "        time.sleep(delay)",
    ], {"time", "os"}, "site:bounded-retry")


def snip_bounded_counter(r, n):
    return ([
        "def connect_%s(self):" % n,
        "    attempts = 0",
        "    while True:",
        "        attempts += 1",
        "        try:",
        "            return self._connect()",
        "        except ConnectionError:",
        "            if attempts >= self.max_retries:",
        "                raise",
        "            time.sleep(self.retry_interval)",
    ], {"time"}, "skip:bounded")


def snip_bounded_deadline(r, n):
    return ([
        "def wait_%s_ready(checker, timeout=60):" % n,
        "    deadline = time.monotonic() + timeout",
        "    while True:",
        "        if checker():",
        "            return True",
        "        if time.monotonic() > deadline:",
        "            raise TimeoutError('%s not ready')" % n,
        "        time.sleep(0.5)",
    ], {"time"}, "skip:bounded")


def snip_service_loop(r, n):
    return ([
        "class %sService(object):" % n.capitalize(),
        "    interval = 30",
        "",
        "    def run(self):",
        "        while True:",
        "            try:",
        "                self._process_once()",
        "            except Exception:",
        "                LOG.exception('Unexpected error in periodic %s task')" % n,
        "            eventlet.sleep(self.interval)",
    ], {"eventlet"}, "skip:service")


def snip_yield_loop(r, n):
    return ([
        "def drain_%s_queue(queue):" % n,
        "    while True:",
        "        item = queue.get()",
        "        if item is None:",
        "            return",
        "        handle(item)",
        "        time.sleep(0)",
    ], {"time"}, "skip:yield")


def snip_driver_loader(r, n):
    return ([
        "def load_%s_driver(conf):" % n,
        '    """Load the %s driver named in the configuration.' % n,
        "",
        "    :raises SystemExit: if the driver cannot be loaded",
        '    """',
        "    try:",
        "        driver_class = importutils.import_class(conf.%s_driver)" % n,
        "        return driver_class(conf)",
        "    except ImportError:",
        "        LOG.error(\"Error loading %s driver '%%s'\", conf.%s_driver)" % (n, n),
        "        raise SystemExit(1)",
    ], {"oslo_utils.importutils"}, "site:driver-load-error")


def snip_handler_loader(r, n):
    return ([
        "class %sAgent(object):" % n.capitalize(),
        "    def __init__(self, conf):",
        "        self.conf = conf",
        "        try:",
        "            self.driver = importutils.import_object(conf.%s_driver, conf)" % n,
        "        except ImportError:",
        "            LOG.exception('Failed to load %s driver')" % n,
        "            sys.exit(1)",
    ], {"sys", "oslo_utils.importutils"}, "site:driver-load-error")


def snip_main_exit(r, n):
    return ([
        "def main():",
        "    args = sys.argv[1:]",
        "    if not args:",
        "        print('usage: %s-manage COMMAND')" % n,
        "        sys.exit(2)",
        "    try:",
        "        run_command(args)",
        "    except KeyboardInterrupt:",
        "        sys.exit(130)",
        "    sys.exit(0)",
    ], {"sys"}, "skip:not-driver-loading")


def snip_config_exit(r, n):
    return ([
        "def parse_%s_config(path):" % n,
        "    try:",
        "        with open(path) as fh:",
        "            return json.load(fh)",
        "    except ValueError as exc:",
        "        LOG.error('Invalid %s config %%s: %%s', path, exc)" % n,
        "        raise SystemExit(1)",
    ], {"json"}, "skip:not-driver-loading")


CANDIDATES = [
    (snip_wait_time, 5), (snip_throttle_eventlet, 2), (snip_wait_lock, 1), (snip_bounded_counter, 3),
    (snip_bounded_deadline, 2), (snip_service_loop, 3), (snip_yield_loop, 1), (snip_driver_loader, 2),
    (snip_handler_loader, 1), (snip_main_exit, 3), (snip_config_exit, 1),
]


# Decoys: trigger literals, no candidate.
def decoy_context_manager(r, n):
    return ([
        "class %sGuard(object):" % n.capitalize(),
        "    def __init__(self, %s):" % n,
        "        self._%s = %s" % (n, n),
        "",
        "    def __enter__(self):",
        "        self._%s.acquire()" % n,
        "        return self._%s" % n,
        "",
        "    def __exit__(self, exc_type, exc_value, traceback):",
        "        self._%s.release()" % n,
        "        return False",
    ], set(), "noise:__exit__")


def decoy_fork_child(r, n):
    return ([
        "def spawn_%s_worker(target):" % n,
        '    """Fork a child that runs `target`; the parent returns its pid."""',
        "    pid = os.fork()",
        "    if pid == 0:",
        "        try:",
        "            target()",
        "        finally:",
        "            os._exit(0)",
        "    return pid",
    ], {"os"}, "decoy:exit(")


def decoy_assert_raises(r, n):
    return ([
        "class Test%sCommand(object):" % n.capitalize(),
        "    def test_missing_argument(self):",
        "        with self.assertRaises(SystemExit):",
        "            self.parser.parse_args([])",
    ], set(), "decoy:SystemExit")


def decoy_sleep_option(r, n):
    return ([
        "%s_opts = [" % n,
        "    cfg.IntOpt('%s_sleep_interval', default=5," % n,
        "               help='Seconds between %s polls.')," % n,
        "]",
        "",
        "",
        "def pending_%ss(queue):" % n,
        "    found = []",
        "    while queue:",
        "        found.append(queue.pop())",
        "    return found",
    ], {"oslo_config.cfg"}, "decoy:while+sleep")


def decoy_sleep_doc(r, n):
    return ([
        "def schedule_%s(self, items):" % n,
        '    """Schedule each %s; the worker will sleep between batches."""' % n,
        "    batch = []",
        "    while items and len(batch) < self.batch_size:",
        "        batch.append(items.pop(0))",
        "    return batch",
    ], set(), "decoy:while+sleep")


DECOYS = [(decoy_fork_child, 1), (decoy_assert_raises, 2), (decoy_sleep_option, 2), (decoy_sleep_doc, 2)]


def weighted(r, table):
    total = sum(w for _, w in table)
    x = r.random() * total
    for f, w in table:
        x -= w
        if x < 0:
            return f
    return table[-1][0]


def target_lines(r, kind):
    """How long a module should be: lognormal, with a tail of several thousand lines."""
    if kind == "candidate":
        # Files that match the prefilter are large in real trees.
        if r.random() < 0.3:
            return r.randint(2000, 7000)
        return int(min(4000, max(80, r.lognormvariate(6.2, 0.7))))
    x = r.random()
    if x < 0.01:
        return r.randint(2000, 8000)
    if x < 0.07:
        return r.randint(500, 2000)
    return int(min(900, max(12, r.lognormvariate(4.7, 0.75))))


def make_module(r, project, subpkg, kind):
    g = Gen(r, project)
    target = target_lines(r, kind)
    snippets = []
    if kind == "candidate":
        for _ in range(r.choice([1, 1, 1, 2, 2, 3])):
            snippets.append(weighted(r, CANDIDATES)(r, g.noun()))
    elif kind == "decoy":
        snippets.append(weighted(r, DECOYS)(r, g.noun()))
    elif r.random() < 0.03:
        # Ordinary code: a context manager (`__exit__(` is not the literal `exit(`).
        snippets.append(decoy_context_manager(r, g.noun()))
    extra = set()
    for _, need, _ in snippets:
        extra |= need
    std_extra = {m for m in extra if "." not in m and m not in ("eventlet",)}
    g.header(subpkg)
    g.imports(subpkg, std_extra)
    # Third-party extras go after the standard imports, before project imports.
    fixup = []
    for m in sorted(extra - std_extra):
        if m == "eventlet":
            fixup.append("import eventlet")
        else:
            mod, name = m.rsplit(".", 1)
            fixup.append("from %s import %s" % (mod, name))
    if fixup:
        g.lines.extend(fixup + ["", ""])
    # Where the snippets go: spread over the module.
    body_budget = max(4, target - len(g.lines) - sum(len(s[0]) + 3 for s in snippets))
    slots = sorted(r.random() for _ in snippets)
    allow_while = r.random() < 0.35  # many ordinary files have a `while` loop somewhere
    produced = 0
    labels = []
    si = 0
    while produced < body_budget or si < len(snippets):
        while si < len(snippets) and slots[si] * body_budget <= produced:
            lines, _, label = snippets[si]
            g.lines.extend(lines)
            g.lines.extend(["", ""])
            labels.append(label)
            si += 1
        if produced >= body_budget:
            continue
        before = len(g.lines)
        if r.random() < 0.55:
            g.klass(min(body_budget - produced, r.randint(30, 260)), allow_while)
        else:
            g.function(0, r.randint(5, 40), False, allow_while)
            g.emit(0, "")
        produced += len(g.lines) - before
    while g.lines and g.lines[-1] == "":
        g.lines.pop()
    return "\n".join(g.lines) + "\n", labels


def make_init(r, project):
    if r.random() < 0.7:
        return "", []
    g = Gen(r, project)
    g.header("")
    return "\n".join(g.lines) + "\n", []


TRIGGERS_ANY = ["SystemExit", "exit(", "quit(", "exit as", "quit as"]


def trigger_class(text):
    br = "while" in text and "sleep" in text
    dl = any(t in text for t in TRIGGERS_ANY)
    return br, dl


def layout(r, shard, files):
    """Directories (project/package/subpackage) and how many modules each gets."""
    dirs = []
    for p in range(len(PROJECTS)):
        proj = PROJECTS[(p + shard) % len(PROJECTS)] + ("" if shard == 0 else str(shard))
        for area in r.sample(NOUNS, r.randint(6, 10)):
            for sub in r.sample(["api", "db", "common", "objects", "drivers", "services", "cmd", "conf", "tests/unit", "tests/functional", "agent", "scheduler", "plugins", "utils", "compute", "notifications"], r.randint(3, 6)):
                dirs.append((proj, "%s/%s/%s" % (proj, area, sub)))
    return dirs


def gen_shard(out, shard, seed, files, verify=False):
    r = random.Random("%d:%d:layout" % (seed, shard))
    dirs = layout(r, shard, files)
    # Every directory on the way is a package: count the __init__.py files first.
    pkgs = set()
    for _, d in dirs:
        parts = d.split("/")
        for i in range(1, len(parts) + 1):
            pkgs.add("/".join(parts[:i]))
    pkgs = sorted(pkgs)
    modules = files - len(pkgs)
    if modules < len(dirs):
        raise SystemExit("--files too small for the layout")
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    stats = {"files": 0, "lines": 0, "bytes": 0, "candidate_files": 0, "decoy_files": 0,
             "prefilter_bounded_retry": 0, "prefilter_driver_load_error": 0, "prefilter_any": 0,
             "prefilter_any_bytes": 0, "files_over_2000_lines": 0, "labels": {}, "non_python_files": 0}

    def write(rel, text):
        path = os.path.join(tmp, rel)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        stats["files"] += 1
        stats["lines"] += text.count("\n")
        stats["bytes"] += len(text.encode("utf-8"))
        if text.count("\n") > 2000:
            stats["files_over_2000_lines"] += 1
        br, dl = trigger_class(text)
        stats["prefilter_bounded_retry"] += br
        stats["prefilter_driver_load_error"] += dl
        if br or dl:
            stats["prefilter_any"] += 1
            stats["prefilter_any_bytes"] += len(text)
        return br or dl

    for d in pkgs:
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
        ri = random.Random("%d:%d:init:%s" % (seed, shard, d))
        write(d + "/__init__.py", make_init(ri, d.split("/")[0])[0])
    for proj in sorted({p for p, _ in dirs}):
        with open(os.path.join(tmp, proj, "README.rst"), "w") as fh:
            fh.write("%s\n%s\n\nA synthetic project for benchmarking tame.\n" % (proj, "=" * len(proj)))
        with open(os.path.join(tmp, proj, "LICENSE"), "w") as fh:
            fh.write("Apache License\nVersion 2.0, January 2004\n" * 50)
        with open(os.path.join(tmp, proj, "setup.cfg"), "w") as fh:
            fh.write("[metadata]\nname = %s\n" % proj)
        stats["non_python_files"] += 3
    used = set()
    for i in range(modules):
        rf = random.Random("%d:%d:file:%d" % (seed, shard, i))
        proj, d = dirs[i % len(dirs)]
        x = rf.random()
        kind = "candidate" if x < 0.03 else "decoy" if x < 0.065 else "plain"
        while True:
            name = "%s_%s.py" % (rf.choice(VERBS), rf.choice(NOUNS)) if rf.random() < 0.5 else "%s.py" % rf.choice(NOUNS + ADJS)
            rel = "%s/%s" % (d, name)
            if rel not in used:
                break
            rel = "%s/%s_%d.py" % (d, name[:-3], i)
            if rel not in used:
                break
        used.add(rel)
        text, labels = make_module(rf, proj, d, kind)
        matched = write(rel, text)
        if kind == "candidate":
            stats["candidate_files"] += 1
        elif kind == "decoy":
            stats["decoy_files"] += 1
        elif matched:
            raise RuntimeError("generator bug: ordinary file %s contains trigger literals" % rel)
        for label in labels:
            stats["labels"][label] = stats["labels"].get(label, 0) + 1
        if verify:
            compile(text, rel, "exec")
    stats["shard"] = shard
    stats["seed"] = seed
    stats["generator_version"] = GENERATOR_VERSION
    with open(os.path.join(tmp, "MANIFEST.json"), "w") as fh:
        json.dump(stats, fh, indent=1, sort_keys=True)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output directory (shards go in OUT/shard-N)")
    ap.add_argument("--scale", type=int, default=1, help="size factor: number of 1x shards (default 1)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--files", type=int, default=10000, help="Python files per shard (default 10000)")
    ap.add_argument("--verify", action="store_true", help="compile() every generated module")
    ap.add_argument("--force", action="store_true", help="regenerate existing shards")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for shard in range(a.scale):
        out = os.path.join(a.out, "shard-%d" % shard)
        manifest = os.path.join(out, "MANIFEST.json")
        if not a.force and os.path.exists(manifest):
            with open(manifest) as fh:
                m = json.load(fh)
            if m.get("seed") == a.seed and m.get("generator_version") == GENERATOR_VERSION and m.get("files") == a.files:
                print("shard-%d: kept (%d files, %d lines)" % (shard, m["files"], m["lines"]), file=sys.stderr)
                continue
        t = time.time()
        s = gen_shard(out, shard, a.seed, a.files, a.verify)
        print("shard-%d: %d files, %d lines, %.1f MB; %d candidate files, %d decoys; "
              "prefilter passes %d files (%.1f MB); %d files > 2000 lines; %.1f s" % (
                  shard, s["files"], s["lines"], s["bytes"] / 1e6, s["candidate_files"], s["decoy_files"],
                  s["prefilter_any"], s["prefilter_any_bytes"] / 1e6, s["files_over_2000_lines"], time.time() - t),
              file=sys.stderr)


if __name__ == "__main__":
    main()
