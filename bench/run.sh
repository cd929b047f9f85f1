#!/usr/bin/env bash
# Run the benchmarks and write their tables into docs/BENCHMARKS.md, each in
# its own section (the text between "## SECTION" and the next "## " heading is
# replaced). Long: not part of CI.  Usage: bench/run.sh [SECTION-FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
models=${VEIL_MODEL_DIR:-../shared/models}
. bench/lib.sh
filter=${1:-}

machine="$(bench_machine), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
stamp=$(date -u +%Y-%m-%d)

run_engine() {
  local out; out=$(mktemp)
  {
    echo "Measured $stamp on $machine with \`$build/bench_engine $models\`"
    echo "(\`make bench\`). Decode: 256 greedy positions one token at a time, classifier"
    echo "included. Prefill: the same 256 positions as one batch. Peak RSS is the whole"
    echo "process (C runtime, OpenSSL and OpenMP included)."
    echo
    "$build/bench_engine" "$models"
  } > "$out"
  replace_section "Local inference engine" "$out"
  rm -f "$out"
}

case "$filter" in ""|engine) run_engine ;; esac
for extra in bench/run_*.sh; do
  [ -e "$extra" ] || continue
  name=$(basename "$extra" .sh); name=${name#run_}
  if [ -z "$filter" ] || [ "$filter" = "$name" ]; then
    BUILD=$build bash "$extra"
  fi
done
echo "updated $doc"
