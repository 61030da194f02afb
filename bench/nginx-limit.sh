#!/usr/bin/env bash
# A real limiter: nginx `limit_req` at 50 r/s with no burst (it refuses,
# with 429 here, any request less than 20 ms after the last one it let
# through, at millisecond resolution; it sends no Retry-After and no
# rate-limit headers). For each steady rate: 429s out of the requests
# sent (`run -r R` for about 10 s); then `probe` three times: its
# recommendation, how long it took, and how that recommendation holds
# when run steadily.
# Target: the probe's recommendation within 10 % of the highest steady
# rate that holds with under 1 % refused, found in under 60 s.
#
# Usage: bench/nginx-limit.sh   (needs nginx: apt-get install nginx-light)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin ratebench
rb=${RB:-target/release/ratebench}
source bench/lib.sh
start_nginx 'limit_req_zone $binary_remote_addr zone=one:1m rate=50r/s; limit_req_status 429;' \
  'location / { limit_req zone=one; }'
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$nginx_bin" -v 2>&1)"
steady() { # steady RATE: prints "refused-of-sent"
  local n; n=$(python3 -c "print(int(float('$1') * 10))")
  printf '{"base_url": "%s", "requests": [{"url": "/ok?i={{i}}", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$base" "$n" >"$tmp/s.json"
  sleep 1.1 # the limiter forgets
  $rb run "$tmp/s.json" -r "$1" -c 10 --quiet --summary-json "$tmp/ss.json" >/dev/null || true
  python3 -c "
import json; s = json.load(open('$tmp/ss.json'))
r = s['by_status'].get('429', 0); print(f'{r} of {s[\"total\"]} ({100 * r / s[\"total\"]:.1f} %)')"
}
echo "## Steady rates (run -r R -c 10, 10 s each)"
echo "| rate | 429s |"
echo "|---:|---:|"
for r in 40 44 45 46 47 48 49 50; do echo "| $r/s | $(steady $r) |"; done
echo
echo "## probe (defaults: start 5/s, window 10 s)"
echo "| run | recommended | took | the recommendation run steadily: 429s |"
echo "|---:|---:|---:|---:|"
printf '{"base_url": "%s", "requests": ["/ok"]}\n' "$base" >"$tmp/p.json"
for i in 1 2 3; do
  sleep 1.1
  start=$(date +%s.%N)
  $rb probe "$tmp/p.json" --quiet --summary-json "$tmp/r.json" >/dev/null
  took=$(python3 -c "print(f'{$(date +%s.%N) - $start:.0f} s')")
  rec=$(python3 -c "import json; print(json.load(open('$tmp/r.json'))['recommendation']['per_second'])")
  echo "| $i | $rec/s | $took | $(steady "$rec") |"
done
