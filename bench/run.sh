#!/usr/bin/env bash
# Benchmark for issue 6: installs what is missing (ripgrep, GNU time, ast-grep
# in a scratch venv), then runs bench/bench.py, which builds tame, generates
# the corpus into /tmp/tame-bench and writes /tmp/tame-bench/results.md.
# Never part of the test suite. Arguments go to bench.py, e.g.:
#   bench/run.sh                      # the work tree, 5 rounds, 1x/2x/4x
#   bench/run.sh --rev HEAD           # a clean export of a commit
#   bench/run.sh --rounds 3 --scales 1,2
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || true
    fi
}

if ! command -v rg >/dev/null; then
    echo "installing ripgrep" >&2
    apt_install ripgrep
    command -v rg >/dev/null || cargo install --quiet ripgrep || true
fi
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time" >&2
    apt_install time
fi
if ! command -v ast-grep >/dev/null && [ ! -x /tmp/sg-venv/bin/ast-grep ]; then
    echo "installing ast-grep-cli into /tmp/sg-venv" >&2
    { python3 -m venv /tmp/sg-venv && /tmp/sg-venv/bin/pip install -q ast-grep-cli; } || echo "ast-grep unavailable: skipped" >&2
fi

exec python3 "$here/bench.py" "$@"
