#!/usr/bin/env bash
# Interpreter speed against CPython, side by side in one hyperfine run (ratios hold on a noisy
# machine; absolute times do not). Usage: bench/compare.sh [PRISM_BINARY] [PYTHON_BINARY]
# Defaults: target/release/prism and the real CPython binary (`pyenv which python3` when pyenv
# is there: a launcher script adds its own start-up time).
set -euo pipefail
cd "$(dirname "$0")/programs"
prism=${1:-../../target/release/prism}
python=${2:-$(pyenv which python3 2>/dev/null || command -v python3)}
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install hyperfine)" >&2; exit 1; }
args=()
for w in fib loop objects; do
  args+=(-n "prism $w" "$prism run $w.prism" -n "python $w" "$python $w.py")
done
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-markdown "${OUT:-/dev/stdout}" "${args[@]}"
