#!/usr/bin/env bash
# The transport against oha, as issue 18 set its targets: 100,000 GETs of a
# local nginx's /ok, 64 at once, no rate limit; for each client, requests
# per second (N over its wall time) and client CPU time per request (user +
# system from GNU time: steadier than req/s on a shared machine), round by
# round so every client sees the same machine.
# Targets: ratebench run -c 64 at least 0.8x oha's req/s and at most 1.25x
# its CPU per request; with --out x.jsonl at least 0.7x and at most 1.4x.
#
# Usage: bench/transport.sh [ROUNDS]   (default 3; needs oha, nginx,
# /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
n=${N:-100000}
command -v oha >/dev/null || { echo "oha not found: cargo install oha" >&2; exit 1; }
cargo build --release --quiet --bin ratebench --example bench
rb=target/release/ratebench
source bench/lib.sh
start_nginx "keepalive_requests 1000000;" ""
url="$base/ok"
curl -sf "$url" >/dev/null || { echo "nginx does not serve $url" >&2; exit 1; }
printf '{"requests": [{"url": "%s", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$url" "$n" >"$tmp/batch.json"

# one NAME CMD...: runs CMD under GNU time; prints "req/s µs_cpu_per_request".
one() {
  shift
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || { echo "$*: failed" >&2; cat "$tmp/out" "$tmp/err" "$tmp/time" >&2; exit 1; }
  read -r wall user sys <"$tmp/time"
  python3 -c "print(f'{$n/$wall:.0f} {($user+$sys)/$n*1e6:.1f}')"
}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$nginx_bin" -v 2>&1)"
echo "# $($rb --version), $(oha --version)"
echo
echo "## $n GETs of nginx /ok, 64 at once: req/s (client CPU µs per request)"
echo "| round | oha | bare hyper-util loop | bare reqwest loop | ratebench run -c 64 | ratebench --out x.jsonl | ratebench / oha (req/s, CPU) | --out / oha |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$rounds"); do
  read -r o_rate o_cpu < <(one oha oha -n "$n" -c 64 --no-tui --output-format quiet "$url")
  read -r h_rate h_cpu < <(one hyper target/release/examples/bench hyper-loop "$url" pool "$n" 64)
  read -r q_rate q_cpu < <(one reqwest target/release/examples/bench reqwest-loop "$url" "$n" 64)
  read -r r_rate r_cpu < <(one rb $rb run "$tmp/batch.json" -c 64 )
  rm -f "$tmp/x.jsonl"
  read -r j_rate j_cpu < <(one rbj $rb run "$tmp/batch.json" -c 64 --out "$tmp/x.jsonl")
  python3 -c "
o, oc = $o_rate, $o_cpu
print(f'| $r | {o} ({oc}) | $h_rate ($h_cpu) | $q_rate ($q_cpu) | $r_rate ($r_cpu) | $j_rate ($j_cpu) | {$r_rate/o:.2f}x, {$r_cpu/oc:.2f}x | {$j_rate/o:.2f}x, {$j_cpu/oc:.2f}x |')"
done
