#!/usr/bin/env bash
# TUI-mode throughput against headless `ratebench run`: the same 100,000
# GETs, 64 at once, no rate limit, against examples/bench/server.rs. The
# workbench is driven in tmux (r to run, q to quit when it draws DONE); its
# achieved rate is read from the summary it prints on exit.
#
# Usage: bench/tui.sh [ROUNDS]     Needs: tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-3}
command -v tmux >/dev/null || { echo "tmux not found: apt-get install tmux" >&2; exit 1; }
cargo build --release --quiet --bin ratebench --example bench
cleanup='tmux kill-session -t rbbench 2>/dev/null'
start_server
ok_batch "$tmp/100k.json" 100000
rb=target/release/ratebench

echo "| round | headless run -c 64 | workbench -c 64 | workbench / headless |"
echo "|---:|---:|---:|---:|"
for r in $(seq "$rounds"); do
  $rb run "$tmp/100k.json" --base-url "$base" -c 64 --quiet --summary-json "$tmp/h.json"
  headless=$(python3 -c "import json; print(json.load(open('$tmp/h.json'))['achieved_per_s'])")
  tmux new-session -d -s rbbench -x 100 -y 30 "$rb $tmp/100k.json --base-url $base -c 64 -r 0 > $tmp/tui.out; sleep 5"
  sleep 1; tmux send-keys -t rbbench r
  # The workbench draws into tui.out (its stdout), so watch that file.
  for _ in $(seq 240); do sleep 0.5; grep -aq DONE "$tmp/tui.out" && break; done
  tmux send-keys -t rbbench q; sleep 1; tmux kill-session -t rbbench 2>/dev/null || true
  tui=$(grep -a -o 'achieved rate *[0-9.]*' "$tmp/tui.out" | awk '{print $3}')
  python3 -c "print(f'| $r | {float($headless):.0f} | {float($tui):.0f} | {float($tui)/float($headless):.2f} |')"
done
