#!/bin/sh
# Runs every cargo-fuzz target in turn for SECONDS each (default 900), one libFuzzer worker,
# keeping going after crashes, timeouts and out-of-memory inputs. The working corpus and the
# artifacts go to WORK (default /tmp/prism-fuzz), seeded from corpus/<target>; this folder's
# corpus is only read. Logs: WORK/<target>.log. Usage: ./run-targets.sh [SECONDS] [WORK] [TARGET...]
set -eu
cd "$(dirname "$0")"
seconds=${1:-900}
work=${2:-/tmp/prism-fuzz}
shift 2 2>/dev/null || shift $#
targets=${*:-parse check format pattern}
for t in $targets; do
  mkdir -p "$work/$t" "$work/artifacts/$t"
  echo "== $t: $seconds s" >&2
  cargo +nightly fuzz run -O "$t" "$work/$t" "corpus/$t" -- \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 \
    >"$work/$t.log" 2>&1 || true
  tail -n 5 "$work/$t.log" >&2
done
