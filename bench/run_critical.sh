#!/usr/bin/env bash
# Critical inference end to end: `veil demo --nodes 2` in the float, --int
# and --security critical modes (pipelined and --prove-sync, with and
# without SVE), one run each; writes "## zkDPS in the network" in
# docs/BENCHMARKS.md (called by run.sh; about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
models=${VEIL_MODEL_DIR:-../shared/models}
. bench/lib.sh
m="$models/stories260K.bin" z="$models/tok512.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/veil" zk commit-model -m "$m" -o "$tmp/reg" 2>/dev/null
n=8

# one_run LABEL ARGS...: a table row from one demo (wall per token from the
# achieved tok/s, CPU of the whole demo, the critical summary line)
one_run() {
  local label=$1; shift
  /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$build/veil" demo --nodes 2 -m "$m" -z "$z" -i Once -n $n -t 0 "$@" \
    >"$tmp/out" 2>"$tmp/err"
  local tps cpu line
  tps=$(awk '/achieved tok\/s/{print $3}' "$tmp/err")
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$tmp/cpu")
  line=$(grep '^critical:' "$tmp/err" || true)
  if [ -n "$line" ]; then
    local per steps ver wait
    per=$(echo "$line" | sed -E 's/.*\(([0-9.]+) per step\).*/\1/')
    steps=$(echo "$line" | sed -E 's/.* over ([0-9]+) step.*/\1/')
    ver=$(echo "$line" | sed -E 's/.*verify ([0-9.]+) s.*/\1/')
    wait=$(echo "$line" | sed -E 's/.*waited ([0-9.]+) s.*/\1/')
    awk -v l="$label" -v t="$tps" -v c="$cpu" -v b="$per" -v s="$steps" -v v="$ver" -v w="$wait" \
      'BEGIN { printf "| %s | %.2f s | %.0f KiB | %.3f s | %.2f s | %s s |\n", l, 1 / t, b / 1024, v / s, w / s, c }'
  else
    awk -v l="$label" -v t="$tps" -v c="$cpu" 'BEGIN { printf "| %s | %.2f ms | - | - | - | %s s |\n", l, 1000 / t, c }'
  fi
}

out=$(mktemp)
{
  echo "Measured $(date -u +%Y-%m-%d) on $(bench_machine) with \`bench/run_critical.sh\`: two local"
  echo "nodes (stories260K split 0:3 / 3:5, each node one process thread pool on the same"
  echo "2 cores), prompt \"Once\", \`-n $n -t 0\` (a prefill proof of 2 tokens, then 6"
  echo "one-token decode steps, each proven against the KV-cache commitments of the"
  echo "earlier ones). Registry from \`veil zk commit-model\` (\`--commitments\`), except with"
  echo "\`--sve\`, where the client commits to the transformed weights at start. One run per"
  echo "row: read the figures as ranges on this shared machine."
  echo
  echo "| mode | per decoded token (wall) | proof bytes per step (2 shards) | client verify per step | waiting for proofs per step | CPU of the whole demo |"
  echo "|---|---|---|---|---|---|"
  one_run "float pipeline"
  one_run "\`--int\` (no proofs)" --int
  one_run "critical, pipelined" --security critical --commitments "$tmp/reg"
  one_run "critical, \`--prove-sync\`" --security critical --commitments "$tmp/reg" --prove-sync
  one_run "critical, pipelined, \`--sve strong\`" --security critical --sve strong
  echo
  echo "Besides the proofs a step moves, per shard, the shard's input rows of every"
  echo "earlier position (the node is stateless: 4 x dim bytes per position, 2 KiB at"
  echo "position 8) and the new rows back; with \`--sve\` the client also uploads each"
  echo "shard's transformed integer weights once per node connection (~0.9 MB for"
  echo "stories260K). Pipelined proving lets both shards of a step prove at once, so a"
  echo "token waits for the slower proof instead of the sum; on a machine where the"
  echo "nodes share cores it gains little. Neither schedule releases a token before its"
  echo "proofs verified. With \`--prove-sync\` the client waits inside each request, so its"
  echo "waiting column reads 0."
} > "$out"
replace_section "zkDPS in the network" "$out"
rm -f "$out"
