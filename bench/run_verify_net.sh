#!/usr/bin/env bash
# Consensus verification end to end through `veil demo` (real node
# processes on loopback, one or two of them adversarial): detection per
# adversary mode at R=2/R=3, sample:P, CDV alone, collusion, false positives
# and cost. Prints markdown on stdout (pasted into docs/SECURITY.md and
# docs/BENCHMARKS.md). Usage: bench/run_verify_net.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD:-build}}
bin=$build/veil
export VEIL_MODEL_DIR=${VEIL_MODEL_DIR:-../shared/models} OMP_WAIT_POLICY=PASSIVE
work=$(mktemp -d /tmp/veil-verify-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
prompts=("Once upon a time" "One day" "The little dog" "Tom and Sue")

# demo ARGS... -> $work/o.txt, $work/o.err
fails=0 # runs that ended in an error (node start, timeout, no quorum)
demo() { "$bin" demo "$@" >"$work/o.txt" 2>"$work/o.err" || { fails=$((fails + 1)); echo "run failed: $*" >&2; tail -2 "$work/o.err" >&2; }; }
flags() { grep -c "^node .* flagged: " "$work/o.err"; }
# position of the first flag ("... at positions A..B ...": A; CDV: "after N tokens": N-1)
first_flag() {
  grep -m1 "^node .* flagged: " "$work/o.err" |
    sed -n -e 's/.* at positions \([0-9]*\)\.\..*/\1/p' -e 's/.* after \([0-9]*\) tokens.*/\1 tokens/p'
}
honest() { "$bin" generate -t 0 -n "$1" -i "$2" >"$work/h.txt" 2>/dev/null; }

echo "Measured $(date -u +%Y-%m-%d) with \`bench/run_verify_net.sh $build\` on a shared, loaded"
echo "2-core VM; stories260K (5 layers), greedy (-t 0), nodes on loopback."
echo
echo "### Detection per adversary mode, consensus (4 prompts x 64 positions per row)"
echo
echo "| adversary | R | nodes | runs flagged (adversary named) | honest nodes flagged | text = honest | first flag at position |"
echo "|---|---|---|---|---|---|---|"
for R in 2 3; do
  N=$((R == 2 ? 4 : 6))
  for mode in wrong-model noise:0.001 skip-layer stale random lazy; do
    named=0 bad=0 same=0 pos=""
    for p in "${prompts[@]}"; do
      honest 64 "$p"
      demo --nodes $N --replicas $R --verify consensus --adversary $mode -t 0 -n 64 -i "$p"
      grep -q "^node node0 flagged" "$work/o.err" && named=$((named + 1))
      bad=$((bad + $(grep "^node .* flagged: " "$work/o.err" | grep -vc "^node node0 ")))
      cmp -s "$work/h.txt" "$work/o.txt" && same=$((same + 1))
      pos="$pos$(first_flag) "
    done
    echo "| $mode | $R | $N | $named/4 | $bad | $same/4 | $pos|"
  done
done
echo
echo "### Sampled verification, sample:P (R=2, 4 nodes, 8 runs x 64 positions per cell)"
echo
echo "| adversary | P | runs caught | first flag at position (mean) | text = honest | formula 1-(1-P)^steps |"
echo "|---|---|---|---|---|---|"
for mode in wrong-model lazy; do
  for P in 0.02 0.05 0.1 0.25; do
    caught=0 same=0 sum=0
    for i in $(seq 8); do
      p=${prompts[$((i % 4))]}
      honest 64 "$p"
      demo --nodes 4 --replicas 2 --verify sample:$P --adversary $mode -t 0 -n 64 -i "$p"
      if grep -q "^node node0 flagged" "$work/o.err"; then caught=$((caught + 1)); sum=$((sum + $(first_flag))); fi
      cmp -s "$work/h.txt" "$work/o.txt" && same=$((same + 1))
    done
    steps=$((64 - $(wc -w <<<"$p") ))
    form=$(awk -v P=$P -v n=60 'BEGIN { printf "%.2f", 1 - (1 - P) ^ n }')
    mean=$([ $caught -gt 0 ] && awk -v s=$sum -v c=$caught 'BEGIN { printf "%.1f", s / c }' || echo -)
    echo "| $mode | $P | $caught/8 | $mean | $same/8 | $form |"
  done
done
echo
echo "### CDV alone (--verify cdv, no replica, 3 nodes, 4 prompts x 64 positions)"
echo
"$bin" model profile -o "$work/p.prof" >/dev/null 2>&1
echo "| adversary | runs flagged | first flag (tokens seen by the EWMA) | text = honest |"
echo "|---|---|---|---|"
for mode in none wrong-model noise:0.001 skip-layer stale random lazy; do
  named=0 same=0 pos=""
  for p in "${prompts[@]}"; do
    honest 64 "$p"
    adv=(); [ $mode = none ] || adv=(--adversary $mode)
    demo --nodes 3 --verify cdv --profile "$work/p.prof" "${adv[@]}" -t 0 -n 64 -i "$p"
    [ "$(flags)" -gt 0 ] && named=$((named + 1))
    cmp -s "$work/h.txt" "$work/o.txt" && same=$((same + 1))
    pos="$pos$(first_flag) "
  done
  echo "| $mode | $named/4 | $pos| $same/4 |"
done
echo
echo "### Collusion (collude:7 on two nodes, 64 positions, \"Once upon a time\")"
echo
echo "| placement | R | nodes | flags raised (nodes) | text = honest |"
echo "|---|---|---|---|---|"
honest 64 "Once upon a time"
collude() { # label R N nodes
  demo --nodes $3 --replicas $2 --verify consensus --adversary collude:7 --adversary-node $4 -t 0 -n 64 -i "Once upon a time"
  local who; who=$(grep "^node .* flagged: " "$work/o.err" | awk '{print $2}' | sort -u | tr '\n' ' ')
  local ok=no; cmp -s "$work/h.txt" "$work/o.txt" && ok=yes
  echo "| $1 | $2 | $3 | $(flags) (${who:-none}) | $ok$(grep -q 'generation failed' "$work/o.err" && echo ', run stopped: no honest node left') |"
}
collude "both replicas of shard 0 (nodes 0,2)" 2 4 0,2
collude "one replica of each shard (nodes 0,1): the re-executor colludes" 2 4 0,1
collude "2 of 3 replicas of shard 0 (nodes 0,2)" 3 6 0,2
collude "1 of 3 replicas of shard 0 and 1 of shard 1 (nodes 0,1)" 3 6 0,1
echo
echo "### False positives (honest nodes only)"
echo
echo "| --verify | R | nodes | positions generated (sample:P checks a fraction P of them) | flags |"
echo "|---|---|---|---|---|"
fp() { # mode R N
  local tot=0 fl=0
  for p in "${prompts[@]}"; do
    demo --nodes $3 --replicas $2 --verify $1 ${4:+--profile "$4"} -t 0.9 -s 7 -n 256 -i "$p"
    tot=$((tot + 256)); fl=$((fl + $(flags)))
  done
  echo "| $1 | $2 | $3 | $tot | $fl |"
}
fp consensus 2 4
fp consensus 3 6
fp sample:0.25 2 4
fp cdv 1 3 "$work/p.prof"
echo
echo "### Cost against an unverified run (256 positions, median of 3 runs)"
echo
echo "| run | decode tok/s | client bytes sent | client bytes received |"
echo "|---|---|---|---|"
cost() { # label demo-args...
  local r=()
  for i in 1 2 3; do
    demo "${@:2}" -t 0 -n 256 -i "Once upon a time"
    r+=("$(sed -n 's/^achieved tok\/s: \([0-9.]*\).*/\1/p' "$work/o.err") $(sed -n 's/^client: \([0-9]*\) bytes sent, \([0-9]*\) received.*/\1 \2/p' "$work/o.err")")
  done
  printf '%s\n' "${r[@]}" | sort -n | sed -n 2p | awk -v l="$1" '{ printf "| %s | %.0f | %d | %d |\n", l, $1, $2, $3 }'
}
cost "no verification, R=1, 2 nodes" --nodes 2
cost "no verification, R=2 (hot spares), 4 nodes" --nodes 4 --replicas 2
cost "consensus, R=2, 4 nodes" --nodes 4 --replicas 2 --verify consensus
cost "consensus, R=3, 6 nodes" --nodes 6 --replicas 3 --verify consensus
cost "sample:0.1, R=2, 4 nodes" --nodes 4 --replicas 2 --verify sample:0.1
cost "cdv, 2 nodes" --nodes 2 --verify cdv --profile "$work/p.prof"
echo
echo "Runs that ended in an error (all sections): $fails (the collusion row that stops is one)."
