#!/usr/bin/env bash
# `ratebench probe` against the built-in mock: token buckets at 50, 200 and
# 1,000/s (no burst), a fixed one-second window at 200/s, and a server that
# only slows down past 150/s (20 ms idle latency, no 429s). For each: the
# recommendation, its error against the true limit, how long the probe
# took, and the share of its requests answered 429 after the first 20 s.
#
# Usage: bench/probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin ratebench
rb=target/release/ratebench
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
echo "| server | true limit | recommended | error | took | 429s after 20 s |"
echo "|---|---:|---:|---:|---:|---:|"
run() { # run LABEL LIMIT MOCK-FLAGS...
  label=$1; limit=$2; shift 2
  port=$((18700 + RANDOM % 200))
  $rb mock --port $port "$@" >/dev/null 2>&1 &
  mock=$!
  sleep 1
  printf '{"base_url": "http://127.0.0.1:%d", "requests": ["/anything/a", "/anything/b"]}\n' $port >"$tmp/p.json"
  $rb probe "$tmp/p.json" --quiet --summary-json "$tmp/r.json" >/dev/null
  kill $mock; wait $mock 2>/dev/null || true
  python3 - "$label" "$limit" "$tmp/r.json" <<'PY'
import json, sys
label, limit, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
r = json.load(open(path))
rec = r["recommendation"]
late = [o for i, (_, o) in enumerate(r["timeline"]) if i >= 20]
done = sum(o["completed"] for o in late)
refused = sum(o["throttled"] for o in late)
share = f"{100 * refused / done:.2f} %" if done else "(done by then)"
err = (rec["per_second"] - limit) / limit * 100
print(f"| {label} | {limit:g}/s | {rec['per_second']}/s | {err:+.1f} % | {len(r['timeline'])} s | {share} |")
PY
}
run "token bucket" 50 --rate-limit 50
run "token bucket" 200 --rate-limit 200
run "token bucket" 1000 --rate-limit 1000
run "fixed window" 200 --rate-limit 200/s,window=fixed
run "slows past capacity" 150 --capacity 150 --latency 20ms
