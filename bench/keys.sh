#!/usr/bin/env bash
# Key latency under load: while the workbench runs 1,000,000 GETs at 64 at
# once (no rate limit) against examples/bench/server.rs, press → (raise max
# at once) and time until the new value is on screen, read through tmux.
# The figure includes up to one frame (33 ms at the 30 fps cap) and tmux's
# own latency, so it bounds the key handling from above.
#
# Usage: bench/keys.sh     Needs: tmux, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
command -v tmux >/dev/null || { echo "tmux not found: apt-get install tmux" >&2; exit 1; }
cargo build --release --quiet --bin ratebench --example bench
cleanup='tmux kill-session -t rbkeys 2>/dev/null'
start_server
ok_batch "$tmp/1m.json" 1000000
tmux new-session -d -s rbkeys -x 100 -y 30 "target/release/ratebench $tmp/1m.json --base-url $base -c 64 -r 0; sleep 5"
sleep 3; tmux send-keys -t rbkeys r; sleep 3
python3 - <<'PY'
import re, subprocess, time
def screen():
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", "rbkeys"], capture_output=True, text=True).stdout
steps = [64, 100, 200, 500, 1000, 2000, 5000, 10000]
print("| press | key → screen (ms) | completions/s on screen |")
print("|---:|---:|---:|")
for i in range(len(steps) - 1):
    want = f"◀ {steps[i + 1]} ▶"
    t0 = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", "rbkeys", "Right"])
    s = screen()
    while want not in s and time.perf_counter() - t0 < 2:
        s = screen()
    ms = (time.perf_counter() - t0) * 1000
    rate = re.search(r"throughput ([0-9.]+)/s", s)
    print(f"| {i + 1} | {ms:.1f} | {float(rate.group(1)) if rate else 0:.0f} |")
    time.sleep(0.4)
PY
tmux send-keys -t rbkeys C-c
