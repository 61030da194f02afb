#!/usr/bin/env bash
# The workbench's results table over a million results: runs 1,000,000 GETs
# against examples/bench/server.rs into a journal, then times building the
# table's index and reading pages (examples/bench/results_index.rs), with its
# peak memory.
#
# Usage: bench/results.sh      Needs: /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) not found: apt-get install time" >&2; exit 1; }
cargo build --release --quiet --bin ratebench --example bench
start_server
ok_batch "$tmp/1m.json" 1000000
target/release/ratebench run "$tmp/1m.json" --base-url "$base" -c 64 --quiet --out "$tmp/1m.jsonl" || true
echo "journal: $(wc -l <"$tmp/1m.jsonl") results, $(du -h "$tmp/1m.jsonl" | cut -f1)"
/usr/bin/time -f "%M" -o "$tmp/rss" target/release/examples/bench results-index "$tmp/1m.jsonl"
echo "peak RSS of the three indexes and nine pages: $(( $(cat "$tmp/rss") / 1024 )) MB"
