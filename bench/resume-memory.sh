#!/usr/bin/env bash
# Memory of `--resume` over a journal of a million rows (999,000 with a
# result, 1,000 to send), against the mock. Target: under 100 MB.
# Usage: bench/resume-memory.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin ratebench
rb=${RB:-target/release/ratebench}
rows=${1:-1000000}
tmp=$(mktemp -d)
port=$((19500 + RANDOM % 400))
$rb mock --port "$port" >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$tmp"' EXIT
printf '{"base_url": "http://127.0.0.1:%s", "requests": [{"url": "/anything?i={{i}}", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$port" "$rows" >"$tmp/b.json"
python3 - "$tmp/r.jsonl" "$rows" "$port" <<'PY'
import json, sys
path, rows, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    for i in range(rows - 1000):
        f.write(json.dumps({"index": i, "name": None, "method": "GET",
            "url": f"http://127.0.0.1:{port}/anything?i={i}", "status": 200, "ok": True,
            "error_kind": None, "error": None, "attempts": 1, "started_at": None,
            "wait_ms": 0.1, "latency_ms": 0.5, "bytes": 300}) + "\n")
PY
sleep 0.3
echo "# machine: $(nproc) cores; journal $(du -h "$tmp/r.jsonl" | cut -f1), $rows rows"
/usr/bin/time -f "resume: %e s wall, %M KB max RSS" \
  $rb run "$tmp/b.json" --out "$tmp/r.jsonl" --resume --force -r 0 -c 50 --quiet
echo "rows in the journal after: $(wc -l <"$tmp/r.jsonl")"
