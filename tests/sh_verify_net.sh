#!/usr/bin/env bash
# Consensus verification end to end (issue 6): real node processes, one of
# them adversarial. With --replicas 2 --verify consensus the demo prints
# exactly the honest text (veil generate -t 0) and names the adversary on
# stderr ("node NAME flagged: ..."); an honest run raises no flag; the
# ledger keeps a flagged node out of the next run; sample:P and CDV run;
# `veil node --adversary` says so at startup; bad flags are usage errors.
set -uo pipefail
net_test=verify-net
. "$(dirname "$0")/net_lib.sh"
flags() { grep -c "^node .* flagged: " "$1"; }
export OMP_WAIT_POLICY=PASSIVE

args=(-n 24 -i "Once upon a time" -t 0)
demo() { # tag, demo flags...
  "$bin" demo --nodes 4 --replicas 2 "${args[@]}" "${@:2}" >"$work/$1.txt" 2>"$work/$1.err"
}
"$bin" generate "${args[@]}" --threads 1 >"$work/honest.txt" 2>/dev/null

# the acceptance run of the issue, then the other modes: honest text, one flag
for mode in wrong-model lazy noise:0.001 random skip-layer stale; do
  tag=${mode%%:*}
  demo "$tag" --verify consensus --adversary "$mode"
  check same "$work/honest.txt" "$work/$tag.txt"
  check grep -q "^node node0 flagged: output of layers \[0,3)" "$work/$tag.err"
  check [ "$(flags "$work/$tag.err")" = 1 ]
  check grep -q "ADVERSARIAL" "$work/$tag.err"
done

# honest: no false flag (exact comparison: the float path is bit-reproducible)
demo honest --verify consensus
check same "$work/honest.txt" "$work/honest.txt"
check [ "$(flags "$work/honest.err")" = 0 ]
check grep -q "verification (--verify consensus): 0 node flag(s)" "$work/honest.err"

# verification and failover together: a killed honest node, an adversary
"$bin" demo --nodes 5 --replicas 2 "${args[@]}" --verify consensus --adversary lazy --kill 2@8 \
  >"$work/kill.txt" 2>"$work/kill.err"
check same "$work/honest.txt" "$work/kill.txt"
check [ "$(flags "$work/kill.err")" = 1 ]
check grep -q "1 failover(s)" "$work/kill.err"

# the ledger: a flagged node is not scheduled in the next run
demo led1 --verify consensus --ledger "$work/l.db" --adversary random --adversary-node 1
check grep -q "^node node1 flagged" "$work/led1.err"
demo led2 --verify consensus --ledger "$work/l.db"
check grep -q "node node1 is flagged in the ledger: not scheduled" "$work/led2.err"
check same "$work/honest.txt" "$work/led2.txt"
check [ "$(flags "$work/led2.err")" = 0 ]

# sample:1 checks every step through the late-replica path; the honest text
demo s1 --verify sample:1 --adversary lazy
check same "$work/honest.txt" "$work/s1.txt"
check [ "$(flags "$work/s1.err")" = 1 ]
demo s5 --verify sample:0.5
check same "$work/honest.txt" "$work/s5.txt"
check [ "$(flags "$work/s5.err")" = 0 ]

# no spare node and no quorum: the run stops, it does not print a wrong text
"$bin" demo --nodes 2 --replicas 2 "${args[@]}" --verify consensus --adversary lazy \
  >"$work/nq.txt" 2>"$work/nq.err"
check [ $? = 1 ]
check grep -q "no quorum among 2; cannot re-execute" "$work/nq.err"

# CDV without replicas (profile of the model's own samples)
"$bin" model profile --samples 2 --steps 64 -o "$work/p.prof" >/dev/null 2>&1
"$bin" demo --nodes 2 "${args[@]}" --verify cdv --profile "$work/p.prof" \
  >"$work/cdv.txt" 2>"$work/cdv.err"
check same "$work/honest.txt" "$work/cdv.txt"
check grep -q "verification (--verify cdv)" "$work/cdv.err"

# veil node --adversary says so at startup
"$bin" node --listen 127.0.0.1:0 --insecure --name evil --adversary noise:0.5 \
  --port-file "$work/evil.port" 2>"$work/evil.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/evil.port" ] && break; sleep 0.05; done
check grep -q "veil node evil: ADVERSARIAL node: mode noise:0.5" "$work/evil.log"

# usage errors (exit 2)
usage() { "$bin" "$@" >/dev/null 2>&1; [ $? = 2 ]; }
check usage demo --verify consensus                 # needs --replicas 2
check usage demo --replicas 2 --verify bogus
check usage demo --replicas 2 --verify sample:1.5
check usage demo --verify cdv                       # needs --profile
check usage demo --ledger x.db                      # needs --verify
check usage demo --adversary bogus
check usage demo --adversary lazy --adversary-node 9
check usage demo --adversary-node 1
check usage node --listen 127.0.0.1:0 --insecure --adversary noise:x

exit $fail
