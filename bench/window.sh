#!/usr/bin/env bash
# The batching trade: item latency against call rate, for three windows at
# one arrival rate (Poisson, seed 7), through the engine (a batch file with
# `arrivals`) and the library's Coalescer fed the same stream, against the
# mock's batch jobs. Prints a markdown table for BENCHMARKS.md.
#
# Usage: bench/window.sh [RATE] [ITEMS] [WINDOWS_MS]   (default 200 2000 10,50,250)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example bench
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
target/release/examples/bench window-trade "${1:-200}" "${2:-2000}" "${3:-10,50,250}"
