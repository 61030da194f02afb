#!/usr/bin/env bash
# `--respect-limits` against the mock's token buckets (burst 1; they
# advertise RateLimit-Policy and say "0 remaining, reset 1 s" after every
# request): `run -c 10 --retries 5` of N requests with no client rate
# limit, with and without --respect-limits. For each: the rate of
# accepted answers (2xx per second of the run) against the limit, the
# share of answers (every attempt) refused, and the requests whose final
# answer was a 429.
# Target: with --respect-limits, at least 90 % of the limit and under 2 %
# of answers refused; never worse than without.
#
# Usage: bench/respect.sh [SECONDS]   (default 30; N = limit × SECONDS)
# A refused request waits out a whole second of Retry-After, so a short
# run's tail weighs on its rate. LIMITS="50" and ONLY_RESPECT=1 narrow it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
cargo build --release --quiet --bin ratebench
rb=target/release/ratebench
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "| limit | flags | requests | accepted/s | of limit | answers | refused | final 429s | took |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
one() { # one LIMIT FLAGS...
  local limit=$1; shift
  local n=$((limit * secs))
  $rb mock --port 0 --rate-limit "$limit" >"$tmp/mock.out" 2>&1 &
  local mock=$!
  for _ in $(seq 50); do grep -q "http://" "$tmp/mock.out" && break; sleep 0.1; done
  local base; base=$(grep -o "http://127.0.0.1:[0-9]*" "$tmp/mock.out" | head -n1)
  printf '{"base_url": "%s", "requests": [{"url": "/anything?id={{i}}", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$base" "$n" >"$tmp/b.json"
  $rb run "$tmp/b.json" -c 10 --retries 5 --quiet --summary-json "$tmp/s.json" "$@" >/dev/null || true
  kill $mock; wait $mock 2>/dev/null || true
  python3 - "$limit" "${*:-(none)}" "$tmp/s.json" <<'PY'
import json, sys
limit, flags, path = float(sys.argv[1]), sys.argv[2], sys.argv[3]
s = json.load(open(path))
a = s["answers"]
refused = a.get("refused", a["by_status"].get("429", 0))
final429 = s["by_status"].get("429", 0)
rate = s["ok"] / s["wall_s"]
print(f"| {limit:g}/s | {flags} | {s['total']} | {rate:.1f}/s | {100 * rate / limit:.1f} % | {a['total']} | {100 * refused / a['total']:.2f} % | {final429} | {s['wall_s']:.1f} s |")
PY
}
for limit in ${LIMITS:-20 50}; do
  [ -n "${ONLY_RESPECT:-}" ] || one $limit
  one $limit --respect-limits
done
