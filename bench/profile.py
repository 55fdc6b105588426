#!/usr/bin/env python3
"""Where does `tame check` spend its time? (issue 6; never run as a test)

Builds tame with debug info and frame pointers (a clean `git archive` export
of --rev, default HEAD, under --build-dir), runs
`perf record --call-graph fp` on `tame check --threads 1` over a corpus made
by gen_corpus.py (default /tmp/tame-bench/corpus/shard-0), and attributes
every sample to one step of the pipeline by the functions on its stack:
walk, read, prefilter, decode, parse, verify re-parse, the transforms' queries
and analyses, edits/diff, output. Prints a Markdown table.

Usage: profile.py [--rev HEAD] [--corpus DIR] [--freq 499] [--tame BIN]
Needs `perf` (Debian: linux-perf) and permission to use it.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# First matching rule wins; a rule is a list of substrings of which any must
# appear on the stack (frames are joined leaf first).
STEPS = [
    ("transform query (tree-sitter QueryCursor)", ["Ctx::captures", "QueryCursor", "ts_query_cursor"]),
    ("verify: re-parse of the rewritten text", ["verify::verify"]),
    ("parse (tree-sitter)", ["ts_parser_parse", "parse::parse"]),
    ("transform analysis (bindings, classify, render)", ["as tame::transforms::Transform>::run"]),
    ("drop trees", ["ts_tree_delete", "ts_subtree_release"]),
    ("apply edits", ["edits::"]),
    ("diff", ["diff::", "similar::"]),
    ("partial parsing: top-level block scan", ["partial::"]),
    ("decode and validate (UTF-8 check, copy, line endings, indent)", ["Source::decode", "source::"]),
    ("prefilter (gate literals, trigger literals and regexes)",
     ["triggers_match", "may_match", "memmem", "packedpair", "simdutf8"]),
    ("read files", ["read_into", "fs::read", "ksys_read", "vfs_read", "do_sys_open", "do_sys_openat"]),
    # Files are processed on the walker's threads, so `ignore::` is on the stack
    # of every per-file step: those rules come first.
    ("other per-file work", ["engine::process", "process_path"]),
    ("walk (ignore)", ["ignore::", "walk::"]),
    ("output", ["output::", "BufWriter"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--tame", help="a binary with debug info and frame pointers (skips the build)")
    ap.add_argument("--build-dir", default="/tmp/tame-bench-build")
    ap.add_argument("--corpus", default="/tmp/tame-bench/corpus/shard-0")
    ap.add_argument("--freq", type=int, default=499)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("args", nargs="*", help="extra tame check arguments (e.g. --no-prefilter)")
    a = ap.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("perf not found (apt-get install linux-perf)")
    if not os.path.isdir(a.corpus):
        raise SystemExit("%s: no corpus (run bench/run.sh or gen_corpus.py first)" % a.corpus)
    tame = a.tame
    if not tame:
        rev = subprocess.run(["git", "rev-parse", a.rev + "^{commit}"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        src = os.path.join(a.build_dir, "src", rev[:12])
        if not os.path.exists(os.path.join(src, "Cargo.toml")):
            os.makedirs(src, exist_ok=True)
            archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
        target = os.path.join(a.build_dir, "target-prof")
        env = dict(os.environ, CARGO_PROFILE_RELEASE_DEBUG="1", RUSTFLAGS="-C force-frame-pointers=yes",
                   CFLAGS="-g -fno-omit-frame-pointer")
        print("building %s with debug info and frame pointers" % rev[:12], file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--quiet", "--target-dir", target], cwd=src, env=env, check=True)
        tame = os.path.join(target, "release", "tame")
    data = os.path.join(os.path.dirname(os.path.abspath(a.corpus)), "perf.data")
    cmd = [tame, "check", "--threads", str(a.threads)] + a.args + [a.corpus]
    # A warm-up run: the benchmark measures a warm page cache, so should the profile.
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["perf", "record", "-q", "-o", data, "-F", str(a.freq), "--call-graph", "fp", "--"] + cmd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym"], capture_output=True, text=True,
                            errors="replace").stdout
    counts = collections.Counter()
    total = 0
    for sample in script.split("\n\n"):
        lines = sample.strip().splitlines()
        if not lines:
            continue
        total += 1
        stack = "\n".join(lines[1:])
        for name, needles in STEPS:
            if any(n in stack for n in needles):
                counts[name] += 1
                break
        else:
            counts["unattributed (startup, kernel, allocator)"] += 1
    ms = 1000.0 / a.freq
    print("`%s` (%d samples at %d Hz, about %.2f s of CPU):" % (
        " ".join(["tame check", "--threads", str(a.threads)] + a.args + [os.path.basename(a.corpus)]),
        total, a.freq, total * ms / 1000))
    print()
    print("| step | share | CPU |")
    print("| --- | ---: | ---: |")
    for name, n in counts.most_common():
        print("| %s | %.1f%% | %.2f s |" % (name, 100.0 * n / total, n * ms / 1000))


if __name__ == "__main__":
    main()
