#!/usr/bin/env bash
# Interpreter speed against CPython: each workload side by side with its Python twin in one
# hyperfine run, so the ratio holds on a noisy machine (an absolute time does not).
# Usage: bench/compare.sh [PRISM_BINARY] [PYTHON_BINARY]; RUNS=N sets the runs (default 5).
# Defaults: target/release/prism and the real CPython binary (`pyenv which python3` when pyenv
# is there: a launcher script adds its own start-up time).
set -euo pipefail
cd "$(dirname "$0")/programs"
prism=$(realpath "${1:-../../target/release/prism}")
python=${2:-$(pyenv which python3 2>/dev/null || command -v python3)}
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install hyperfine)" >&2; exit 1; }
for w in fib loop objects; do
  hyperfine -N --warmup 1 --runs "${RUNS:-5}" -n "prism $w" "$prism run $w.prism" \
    -n "python $w" "$python $w.py" | grep -E "^Benchmark|Time \(mean|Summary|times faster|ran$"
done
