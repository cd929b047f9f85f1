#!/usr/bin/env bash
# Consensus verification with fingerprints (issue 6): `--verify consensus
# --fingerprints` makes every replica but the active one answer FP_FORWARD
# with a 168-byte fingerprint (FP_RESULT) instead of its hidden states. An
# adversary is still caught whether it is the active replica (its rows are
# outvoted) or a fingerprint replica; the text stays exactly the honest one;
# the client receives fewer bytes than with full replica outputs.
set -uo pipefail
net_test=verify-fp
. "$(dirname "$0")/net_lib.sh"
flags() { grep -c "^node .* flagged: " "$1"; }
received() { sed -n 's/^client: .* bytes sent, \([0-9]*\) received.*/\1/p' "$1"; }
export OMP_WAIT_POLICY=PASSIVE

args=(-n 24 -i "Once upon a time" -t 0)
demo() { # tag, demo flags...
  "$bin" demo --nodes 4 --replicas 2 "${args[@]}" --verify consensus "${@:2}" >"$work/$1.txt" 2>"$work/$1.err"
}
"$bin" generate "${args[@]}" --threads 1 >"$work/honest.txt" 2>/dev/null

# honest: same text, no flag, fewer bytes received than full replica outputs
demo full
demo fp --fingerprints
check same "$work/honest.txt" "$work/fp.txt"
check [ "$(flags "$work/fp.err")" = 0 ]
check [ "$(received "$work/fp.err")" -lt "$(received "$work/full.err")" ]
echo "client bytes received: full replica outputs $(received "$work/full.err"), fingerprints $(received "$work/fp.err")"

# Two replicas disagree: dispute bisection (LAYER_REQ) finds the first
# divergent layer, the client recomputes it and names the liar, with no
# third node. node 0 = the active replica of shard 0 (sends rows); node 2 =
# its fingerprint replica (its rows come from its audited history); node 1 =
# the active replica of shard 1 (layers 3..4; skip-layer diverges at 4).
dispute() { # tag node layers layer
  check same "$work/honest.txt" "$work/$1.txt"
  check grep -q "^node $2 flagged: dispute over layers \[$3) at positions 0\.\.4: layer $4 (first divergent" "$work/$1.err"
  check [ "$(flags "$work/$1.err")" = 1 ]
  check [ "$(grep -c "re-execution" "$work/$1.err")" = 0 ]
}
demo active --fingerprints --adversary wrong-model --adversary-node 0
dispute active node0 0,3 0
demo replica --fingerprints --adversary lazy --adversary-node 2
dispute replica node2 0,3 0
demo second --fingerprints --adversary skip-layer --adversary-node 1
dispute second node1 3,5 4

# usage errors (exit 2)
usage() { "$bin" "$@" >/dev/null 2>&1; [ $? = 2 ]; }
check usage demo --fingerprints
check usage demo --replicas 2 --verify sample:0.5 --fingerprints

exit $fail
