#!/usr/bin/env bash
# veil run / demo --int and --security critical: the integer forward pass on
# nodes gives the text of `veil generate --int`; with critical every shard
# step carries a zkDPS proof, and a node serving altered weights is flagged
# (stderr, ledger) and its shard re-run elsewhere with the text unchanged.
set -uo pipefail
bin=${VEIL_BIN:?}
models=${VEIL_MODEL_DIR:-../shared/models}
[ -f "$models/stories260K.bin" ] || { echo "SKIP: stories260K.bin not found"; exit 77; }
. "$(dirname "$0")/lib.sh"
m="$models/stories260K.bin" z="$models/tok512.bin"
export OMP_NUM_THREADS=1

# --int over three demo nodes equals the local integer pass.
"$bin" generate --int -m "$m" -z "$z" -i "Once" -n 8 -t 0 >"$tmp/ref8" 2>/dev/null
check "demo --int" 0 "$bin" demo --nodes 3 --int -m "$m" -z "$z" -i "Once" -n 8 -t 0
expect "demo --int text = generate --int" cmp -s "$tmp/out" "$tmp/ref8"
contains "three shards" "$tmp/err" "shard 2: layers"

# Standalone nodes through veil run; the third holds no checkpoint, refuses,
# is flagged, and its shard is re-run on another node.
pids=()
for i in 0 1 2; do
  extra=(--models "$models"); [ "$i" = 2 ] && extra=()
  "$bin" node --listen 127.0.0.1:0 --insecure --name "n$i" --port-file "$tmp/p$i" --threads 1 \
    "${extra[@]}" 2>/dev/null &
  pids+=($!)
done
for i in 0 1 2; do for _ in $(seq 100); do [ -s "$tmp/p$i" ] && break; sleep 0.1; done; done
nodes="127.0.0.1:$(cat "$tmp/p0"),127.0.0.1:$(cat "$tmp/p1"),127.0.0.1:$(cat "$tmp/p2")"
check "run --int" 0 "$bin" run --insecure --int --stats -m "$m" -z "$z" --nodes "$nodes" -i "Once" -n 8 -t 0
expect "run --int text = generate --int" cmp -s "$tmp/out" "$tmp/ref8"
contains "node without the checkpoint flagged" "$tmp/err" "node n2 flagged: no result"
check "run --int with --sve refused" 2 "$bin" run --insecure --int --sve paper -m "$m" -z "$z" --nodes "$nodes"
contains "sve refusal says why" "$tmp/err" "use --security critical"
check "run --int with --split refused" 2 "$bin" run --insecure --int --split 1 -m "$m" -z "$z" --nodes "$nodes"
check "run --int with --verify refused" 2 "$bin" run --insecure --int --verify consensus -m "$m" -z "$z" --nodes "$nodes"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null

# Critical: the public registry committed once, node 0 alters one weight per
# layer. Its proof fails, it is flagged, node 1 re-runs the shard.
check "commit-model" 0 "$bin" zk commit-model -m "$m" -o "$tmp/reg.vzkr"
"$bin" generate --int -m "$m" -z "$z" -i "Once" -n 2 -t 0 >"$tmp/ref3" 2>/dev/null
check "demo critical, altered weights" 0 "$bin" demo --nodes 2 --security critical -m "$m" -z "$z" \
  --commitments "$tmp/reg.vzkr" --adversary wrong-model --adversary-node 0 --ledger "$tmp/l.db" \
  -i "Once" -n 2 -t 0
expect "critical text = generate --int" cmp -s "$tmp/out" "$tmp/ref3"
contains "dishonest node flagged" "$tmp/err" "node node0 flagged: proof rejected"
contains "proofs verified" "$tmp/err" "2 proof(s) verified over 1 step(s)"
contains "re-run elsewhere" "$tmp/err" "shard 0: layers 0:3 on node1"
check "ledger records the flag" 0 "$bin" ledger show --db "$tmp/l.db" node0
contains "ledger: node0 flagged" "$tmp/out" "FLAGGED"
# Decode steps are proven against the KV commitments of the earlier steps;
# a node replaying its earlier answer (proof included) is caught at once.
"$bin" generate --int -m "$m" -z "$z" -i "Once" -n 5 -t 0 >"$tmp/ref5" 2>/dev/null
check "demo critical, stale node, decode steps" 0 "$bin" demo --nodes 2 --security critical -m "$m" -z "$z" \
  --commitments "$tmp/reg.vzkr" --adversary stale --adversary-node 1 -i "Once" -n 5 -t 0
expect "decode text = generate --int" cmp -s "$tmp/out" "$tmp/ref5"
contains "replayed answer flagged" "$tmp/err" "node node1 flagged: result has the wrong shape (layers 3:5, position 2)"
contains "every decode step proven" "$tmp/err" "proof(s) verified over 4 step(s)"
# Standalone nodes prove on a pool of workers (the rows go out first); the
# proofs are matched to requests by nonce.
pids=()
for i in 0 1; do
  "$bin" node --listen 127.0.0.1:0 --name "w$i" --port-file "$tmp/w$i" --threads 2 \
    --prove-workers 2 --models "$models" 2>"$tmp/w$i.log" &
  pids+=($!)
done
for i in 0 1; do for _ in $(seq 100); do [ -s "$tmp/w$i" ] && break; sleep 0.1; done; done
check "run critical on pooled provers" 0 "$bin" run --security critical --stats -m "$m" -z "$z" \
  --commitments "$tmp/reg.vzkr" --nodes "127.0.0.1:$(cat "$tmp/w0"),127.0.0.1:$(cat "$tmp/w1")" -i "Once" -n 2 -t 0
expect "pooled text = generate --int" cmp -s "$tmp/out" "$tmp/ref3"
contains "progress per proven step" "$tmp/err" "veil critical: positions 0..1: 2 proof(s) verified"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
contains "the node proved on its pool" "$tmp/w0.log" "ZK proof for"
# SVE + critical: the client transforms, quantizes, commits and uploads each
# shard's weights (and moves the rows into shard 1's own basis between the
# shards); node 0 alters one uploaded weight per layer, its proof fails
# against the client's commitments, and node 1 takes its shard over.
check "demo critical --sve strong --sve-hop 1, altered upload" 0 "$bin" demo --nodes 2 --security critical \
  --sve strong --sve-hop 1 -m "$m" -z "$z" --adversary wrong-model --adversary-node 0 -i "Once" -n 3 -t 0
contains "sve text" "$tmp/out" "Once upon"
contains "sve uploads announced" "$tmp/err" "veil critical: SVE strong"
contains "altered upload flagged" "$tmp/err" "node node0 flagged: proof rejected"
contains "sve shard re-run" "$tmp/err" "shard 0: layers 0:3 on node1"
check "sve with a public registry refused" 2 "$bin" demo --nodes 2 --security critical --sve paper -m "$m" -z "$z" \
  --commitments "$tmp/reg.vzkr" -n 2
check "critical with another model's registry" 1 "$bin" demo --nodes 1 --security critical \
  -m "$models/adversarial/stories260K-altered.bin" -z "$models/tok512.bin" --commitments "$tmp/reg.vzkr" -n 2

finish
