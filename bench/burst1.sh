#!/usr/bin/env bash
# Pacing against a limiter with no burst: the mock allows exactly R a
# second (token bucket, burst 1), and ratebench sends at fractions of R.
# Every start that comes early by more than the margin is answered 429, so
# the share of 429s measures how evenly the starts are spaced.
#
# Usage: bench/burst1.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin ratebench
rb=${RB:-target/release/ratebench}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
echo "| limit | sent at | requests | answered 429 |"
echo "|---:|---:|---:|---:|"
for limit in 50 200 1000; do
  port=$((18600 + limit % 97))
  $rb mock --port $port --rate-limit $limit --latency 5ms >/dev/null 2>&1 &
  mock=$!
  sleep 1
  n=$((limit * 4))
  printf '{"requests": [{"url": "/anything/x", "for_each": {"i": {"range": [0, %d]}}}]}\n' $n >"$tmp/b.json"
  for share in 0.90 0.95 0.99; do
    rate=$(python3 -c "print($limit * $share)")
    $rb run "$tmp/b.json" --base-url "http://127.0.0.1:$port" -c 64 -r "$rate" --quiet --summary-json "$tmp/s.json" >/dev/null || true
    python3 -c "import json; s=json.load(open('$tmp/s.json')); n=s['total']; r=s['by_status'].get('429',0); print(f'| {$limit}/s | {$share:.2f}× | {n} | {100*r/n:.1f} % |')"
  done
  kill $mock; wait $mock 2>/dev/null || true
done
