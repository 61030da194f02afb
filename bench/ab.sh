#!/usr/bin/env bash
# Two ratebench builds side by side against the same counting server
# (examples/bench/server.rs), alternating round by round so both see the
# same machine: throughput (100,000 GETs, 64 at once; the server's req/s
# and the client's CPU time per request), with and without a journal, and
# pacing precision at 1,000/s and 10,000/s.
#
# Usage: bench/ab.sh A_BINARY B_BINARY [ROUNDS]   (default 3 rounds)
# e.g. build an older commit in a worktree, then
#   bench/ab.sh /tmp/before-target/release/ratebench target/release/ratebench
# Needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 rounds=${3:-3}
cargo build --release --quiet --example bench
source bench/lib.sh
start_server
reset() { curl -s -X POST "$base/__reset" >/dev/null; }
server_stat() { curl -s "$base/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
ok_batch "$tmp/100k.json" 100000

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# A: $a"
echo "# B: $b"
echo
echo "## Throughput: 100,000 GETs, 64 at once (server req/s; client CPU µs per request)"
echo "| round | A | A µs/req | B | B µs/req | A --out | A --out µs/req | B --out | B --out µs/req |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
one() { # one BINARY [ARGS...]: prints "req/s cpu_us_per_request"
  local bin=$1; shift
  reset
  /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$bin" run "$tmp/100k.json" --base-url "$base" -c 64 --quiet "$@" >/dev/null
  local rate; rate=$(server_stat rate)
  python3 -c "u,s=map(float,open('$tmp/cpu').read().split()); print(f'{float($rate):.0f} {(u+s)/100000*1e6:.1f}')"
}
for r in $(seq "$rounds"); do
  read -r ar ac < <(one "$a")
  read -r br bc < <(one "$b")
  read -r aor aoc < <(one "$a" --out "$tmp/a.jsonl")
  read -r bor boc < <(one "$b" --out "$tmp/b.jsonl")
  echo "| $r | $ar | $ac | $br | $bc | $aor | $aoc | $bor | $boc |"
done
echo
echo "## Pacing: --per-second R for 10 s, counted by the server"
echo "| target/s | A achieved/s | A max in 1 s | B achieved/s | B max in 1 s |"
echo "|---:|---:|---:|---:|---:|"
for rate in 1000 10000; do
  ok_batch "$tmp/rate.json" $((rate * 10))
  row="| $rate"
  for bin in "$a" "$b"; do
    reset; "$bin" run "$tmp/rate.json" --base-url "$base" -c 64 --per-second "$rate" --quiet >/dev/null
    row="$row | $(python3 -c "print(f'{float($(server_stat rate)):.2f}')") | $(server_stat max_per_1s_window)"
  done
  echo "$row |"
done
