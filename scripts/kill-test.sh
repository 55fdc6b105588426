#!/usr/bin/env bash
# Kill test (issue 5): SIGKILL `tame fix` at random moments and check that no
# file is ever lost or half-written.
#
#   scripts/kill-test.sh [KILLS] [FILES]
#
# Generates a tree of FILES Python files (default 2000; two thirds have
# sites, in LF, CRLF, tab, BOM and Latin-1 variants), computes the expected
# rewrite of each with an uninterrupted `tame fix` on a copy, then KILLS times
# (default 10: about a minute with the debug binary, less with TAME=target/release/tame) copies the original tree, starts `tame fix` on
# it and SIGKILLs it after a random delay. After every kill, each file must be
# byte-identical to its original or to its full rewrite, and no new
# non-hidden file may exist. (A kill can leave tame's hidden temporary file
# `.tame-*.tmp` next to a file; those are counted, never taken for source.)
#
# TAME=path/to/tame picks the binary (default: target/debug/tame, built if
# missing). Exit status 0 when every kill passed.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-10}"
files="${2:-2000}"
tame="${TAME:-}"
if [ -z "$tame" ]; then
    cargo build --quiet --bin tame
    tame="${CARGO_TARGET_DIR:-target}/debug/tame"
fi
tame="$(realpath "$tame")"

work="$(mktemp -d "${TMPDIR:-/tmp}/tame-kill.XXXXXX")"
trap 'rm -rf "$work"' EXIT

python3 - "$work/orig" "$files" tests/fixtures/sample/neutron_agent/utils.py <<'PY'
import os, random, sys
root, n, seed_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seed = open(seed_path, "rb").read()
wait = (b"import time\n\n\ndef wait_%d(ready):\n    while True:\n        if ready():\n"
        b"            break\n        time.sleep(1)\n")
noise = b"import os\n\n\ndef f_%d(x):\n    return os.path.join(x, 'a')\n"
rng = random.Random(5)
for i in range(n):
    d = os.path.join(root, "pkg%02d" % (i % 40), "sub%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    kind = i % 6
    if kind == 0:
        body = seed + b"\n# file %d\n" % i
    elif kind == 1:
        body = wait % i
    elif kind == 2:
        body = (wait % i).replace(b"\n", b"\r\n")
    elif kind == 3:
        body = (wait % i).replace(b"    ", b"\t")
    elif kind == 4:
        body = (noise % i) * rng.randint(1, 20)
    else:
        body = b"\xef\xbb\xbf" + noise % i if i % 2 else b"# -*- coding: latin-1 -*-\nN = '\xe9'\n" + wait % i
    with open(os.path.join(d, "m%05d.py" % i), "wb") as f:
        f.write(body)
PY

cp -a "$work/orig" "$work/expected"
# The uninterrupted run, timed; polling also finds when its first write lands.
touch "$work/marker"
start=$(date +%s%N)
"$tame" fix "$work/expected" >/dev/null 2>"$work/expected.err" &
pid=$!
first_write_ms=""
while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$first_write_ms" ] && [ -n "$(find "$work/expected" -newer "$work/marker" -type f -print -quit)" ]; then
        first_write_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    fi
    sleep 0.005
done
if ! wait "$pid"; then
    echo "kill-test: the uninterrupted run failed:" >&2
    cat "$work/expected.err" >&2
    exit 1
fi
duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
first_write_ms="${first_write_ms:-$(( duration_ms / 2 ))}"
changed=$(diff -rq "$work/orig" "$work/expected" | wc -l || true)
echo "kill-test: $files files, $changed rewritten by an uninterrupted run in ${duration_ms} ms (first write after ~${first_write_ms} ms)"
if [ "$changed" -eq 0 ]; then
    echo "kill-test: the generated tree has no sites; nothing to test" >&2
    exit 1
fi

verify() {
    python3 - "$work/orig" "$work/expected" "$1" <<'PY'
import os, sys
orig, expected, run = sys.argv[1:4]
bad, old, new, temps, extra = [], 0, 0, 0, []
for dirpath, dirs, names in os.walk(run):
    rel_dir = os.path.relpath(dirpath, run)
    for name in names:
        rel = os.path.normpath(os.path.join(rel_dir, name))
        if name.startswith(".tame-") and name.endswith(".tmp"):
            temps += 1
            continue
        o = os.path.join(orig, rel)
        if not os.path.exists(o):
            extra.append(rel)
            continue
        got = open(os.path.join(run, rel), "rb").read()
        want_old, want_new = open(o, "rb").read(), open(os.path.join(expected, rel), "rb").read()
        if got == want_old:
            old += want_old != want_new
        elif got == want_new:
            new += 1
        else:
            bad.append(rel)
for dirpath, dirs, names in os.walk(orig):
    for name in names:
        rel = os.path.relpath(os.path.join(dirpath, name), orig)
        if not os.path.exists(os.path.join(run, rel)):
            bad.append(rel + " (missing)")
if bad or extra:
    print("CORRUPT: %s; unexpected files: %s" % (bad[:10], extra[:10]))
    sys.exit(1)
print("%d %d %d" % (old, new, temps))
PY
}

partial=0 none=0 all=0 leftovers=0
for i in $(seq 1 "$kills"); do
    rm -rf "$work/run"
    cp -a "$work/orig" "$work/run"
    # Half the kills anywhere in the run, half in its write phase (tame
    # processes every file in memory first, then writes).
    r=$(( (RANDOM << 15 | RANDOM) % 1000 ))
    if (( i % 2 )); then
        delay_ms=$(( duration_ms * 11 * r / 10000 ))
    else
        delay_ms=$(( first_write_ms + (duration_ms - first_write_ms) * r / 1000 ))
    fi
    "$tame" fix "$work/run" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if ! result=$(verify "$work/run"); then
        echo "kill-test: kill $i after ${delay_ms} ms: $result" >&2
        cp -a "$work/run" "${TMPDIR:-/tmp}/tame-kill-failure.$$" && echo "kill-test: tree kept in ${TMPDIR:-/tmp}/tame-kill-failure.$$" >&2
        exit 1
    fi
    read -r old new temps <<<"$result"
    leftovers=$((leftovers + temps))
    if (( new == 0 )); then none=$((none + 1)); elif (( old == 0 )); then all=$((all + 1)); else partial=$((partial + 1)); fi
done
echo "kill-test: $kills kills passed: $none before any write, $partial during the writes, $all after all writes; $leftovers leftover temporary files"
