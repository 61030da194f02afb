#!/usr/bin/env bash
# The ratebench benchmark: throughput against oha, pacing precision, and
# memory on a million-request batch, all against a local server that counts
# what it receives (examples/bench/server.rs), so both tools are judged by
# the same referee.
#
# Usage: bench/run.sh [ROUNDS]      (default 3 rounds of the throughput race)
# Needs: oha on PATH (cargo install oha), /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}

command -v oha >/dev/null || { echo "oha not found: cargo install oha" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) not found: apt-get install time" >&2; exit 1; }
cargo build --release --quiet --bin ratebench --example bench

tmp=$(mktemp -d)
target/release/examples/bench server 0 >"$tmp/addr" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
base=$(head -n1 "$tmp/addr")
rb=target/release/ratebench

reset() { curl -s -X POST "$base/__reset" >/dev/null; }
server_stat() { curl -s "$base/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
batch() { # batch FILE N: N GETs of /ok from a range (the same URL oha hits)
  printf '{"requests": [{"url": "/ok", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$2" >"$1"
}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $($rb --version), $(oha --version)"
echo

echo "## Throughput: 100,000 GETs, 64 at once, no rate limit (server-side req/s)"
batch "$tmp/100k.json" 100000
echo "| round | oha -n 100000 -c 64 | hyper-util pool loop | reqwest loop | ratebench run -c 64 | ratebench / oha |"
echo "|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$rounds"); do
  reset; oha -n 100000 -c 64 --no-tui --output-format quiet "$base/ok"
  oha_rate=$(server_stat rate)
  reset; target/release/examples/bench hyper-loop "$base/ok" pool 100000 64 >/dev/null
  hyper_rate=$(server_stat rate)
  reset; target/release/examples/bench reqwest-loop "$base/ok" 100000 64 >/dev/null
  loop_rate=$(server_stat rate)
  reset; $rb run "$tmp/100k.json" --base-url "$base" -c 64 --quiet
  rb_rate=$(server_stat rate)
  python3 -c "print(f'| $r | {float($oha_rate):.0f} | {float($hyper_rate):.0f} | {float($loop_rate):.0f} | {float($rb_rate):.0f} | {float($rb_rate)/float($oha_rate):.2f} |')"
done
echo

echo "## Pacing: --per-second R for 10 s, counted by the server"
echo "| target/s | requests | achieved/s | error | max starts in any 1 s window |"
echo "|---:|---:|---:|---:|---:|"
for rate in 100 1000 10000; do
  n=$((rate * 10))
  batch "$tmp/rate.json" "$n"
  reset; $rb run "$tmp/rate.json" --base-url "$base" -c 64 --per-second "$rate" --quiet
  achieved=$(server_stat rate); window=$(server_stat max_per_1s_window)
  python3 -c "a=float($achieved); print(f'| $rate | $n | {a:.2f} | {(a-$rate)/$rate*100:+.3f} % | $window |')"
done
echo

echo "## Mock API: oha -n 100000 -c 64, zero latency, vs an axum hello-world"
$rb mock --port 0 >"$tmp/mock.out" &
mock=$!
trap 'kill $server $mock 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q listening "$tmp/mock.out" 2>/dev/null && break; sleep 0.1; done
mock_base=$(head -n1 "$tmp/mock.out" | awk '{print $NF}')
oha_rps() { oha -n 100000 -c 64 --no-tui --output-format json "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['requestsPerSec'])"; }
echo "| round | hello-world (axum, /hello) | ratebench mock /status/200 | mock / hello |"
echo "|---:|---:|---:|---:|"
for r in $(seq "$rounds"); do
  hello=$(oha_rps "$base/hello"); m=$(oha_rps "$mock_base/status/200")
  python3 -c "print(f'| $r | {float($hello):.0f} | {float($m):.0f} | {float($m)/float($hello):.2f} |')"
done
kill $mock
echo

echo "## Memory: 1,000,000 requests from a range, journal to JSONL, 64 at once"
batch "$tmp/1m.json" 1000000
reset
/usr/bin/time -f "%M %e" -o "$tmp/time" $rb run "$tmp/1m.json" --base-url "$base" -c 64 --quiet --out "$tmp/1m.jsonl"
read -r rss_kb secs <"$tmp/time"
lines=$(wc -l <"$tmp/1m.jsonl")
echo "| requests | journal lines | peak RSS | wall time |"
echo "|---:|---:|---:|---:|"
python3 -c "print(f'| 1000000 | $lines | {$rss_kb/1024:.1f} MB | $secs s |')"
