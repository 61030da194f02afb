#!/usr/bin/env bash
# Exporting a million results: runs 1,000,000 GETs against
# examples/bench/server.rs into a JSON Lines journal, then times
# `ratebench export` to CSV, HAR and Excel, with each one's peak memory.
#
# Usage: bench/export.sh [N]      Needs: /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) not found: apt-get install time" >&2; exit 1; }
n=${1:-1000000}
cargo build --release --quiet --bin ratebench --example bench
start_server
ok_batch "$tmp/batch.json" "$n"
target/release/ratebench run "$tmp/batch.json" --base-url "$base" -c 64 --quiet --out "$tmp/run.jsonl" || true
echo "journal: $(wc -l <"$tmp/run.jsonl") results, $(du -h "$tmp/run.jsonl" | cut -f1)"
for ext in csv har xlsx; do
  /usr/bin/time -f "%e %M" -o "$tmp/t" target/release/ratebench export "$tmp/run.jsonl" -o "$tmp/out.$ext" 2>/dev/null
  read -r secs kb <"$tmp/t"
  echo "$ext: ${secs} s, peak RSS $(( kb / 1024 )) MB, $(du -h "$tmp/out.$ext" | cut -f1)"
done
