#!/usr/bin/env bash
# Fuzzes tame's per-file pipeline (fuzz/fuzz_targets/pipeline.rs).
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Seeds fuzz/corpus/pipeline with every Python file under tests/fixtures, then
# runs libFuzzer for SECONDS (default 600). cargo-fuzz needs nightly features;
# on a stable toolchain RUSTC_BOOTSTRAP=1 enables them. Crashes land in
# fuzz/artifacts/pipeline/; add a regression test for each one.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=fuzz/corpus/pipeline
mkdir -p "$corpus"
find tests/fixtures -name '*.py' | while read -r f; do
    cp "$f" "$corpus/seed-$(echo "${f#tests/fixtures/}" | tr / _)"
done
cd fuzz
RUSTC_BOOTSTRAP=1 cargo fuzz run pipeline "corpus/pipeline" -- \
    -dict=pipeline.dict -max_len=16384 -timeout=20 -rss_limit_mb=4096 \
    -max_total_time="$secs" -print_final_stats=1 "$@"
