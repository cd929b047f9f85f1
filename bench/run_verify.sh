#!/usr/bin/env bash
# Consensus verification: run bench_verify and put its tables under
# "## Consensus verification cost" in docs/BENCHMARKS.md (called by run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
models=${VEIL_MODEL_DIR:-../shared/models}
. bench/lib.sh
out=$(mktemp)
{
  echo "Measured $(date -u +%Y-%m-%d) with \`$build/bench_verify $models\` (\`bench/run.sh verify\`);"
  echo "local simulation, no network: R replicas of a shard are local shards, one of them"
  echo "adversarial (\`veil_adv_*\`), decided by the same library calls the orchestrator makes."
  echo
  "$build/bench_verify" "$models"
} > "$out"
replace_section "Consensus verification cost" "$out"
rm -f "$out"
