#!/usr/bin/env bash
# --security tee over real processes (issue 4, NTEE): `veil demo --security
# tee` prints what `veil generate` prints, with the six TEE lifecycle steps in
# the nodes' logs; `veil run --security tee` refuses a node attested by another
# authority (it never receives a frame: no weights, no hidden states) and runs
# on the others; --security auto falls back to general when a node has no
# TEE; --security critical selects --int (or says it is not available); bad
# flags are usage errors.
set -uo pipefail
net_test=tee-net
. "$(dirname "$0")/net_lib.sh"
cd "$work"
export OMP_WAIT_POLICY=PASSIVE

args=(-n 40 -i "Once upon a time" -t 0)
"$bin" generate "${args[@]}" >local.txt 2>/dev/null

# 1. the demo: throwaway keys, sim authority, attested pipeline, same text
"$bin" demo --security tee "${args[@]}" --verbose >demo.txt 2>demo.err
check [ $? = 0 ]
check same local.txt demo.txt
for s in "1/6 blank" "2/6 attested" "3/6 provisioned" "4/6 executing" "5/6 result" "6/6 destroyed"; do
  check grep -q "veil tee node.: step $s" demo.err
done
check grep -q "mutual attestation with next neighbour" demo.err
check grep -q "0 non-zero bytes left" demo.err
check grep -q "verified: sim (SIMULATED)" demo.err
"$bin" demo "${args[@]}" >demo_tls.txt 2>/dev/null   # default transport: TLS with throwaway keys
check same local.txt demo_tls.txt
for m in general auto; do
  "$bin" demo --security $m "${args[@]}" >demo_$m.txt 2>demo_$m.err
  check same local.txt demo_$m.txt
done
check grep -q -- "--security general: --split 1" demo_general.err
check grep -q "using tee" demo_auto.err

# 2. nodes attested by two different authorities
"$bin" tee authority init -o auth >/dev/null && "$bin" tee authority init -o evil_auth >/dev/null
for k in a b evil client; do "$bin" keygen -o "$k" >/dev/null; done
start_node a --security tee --key a --tee-authority auth
start_node b --security tee --key b --tee-authority auth --tee-type gpu-tee
start_node evil --security tee --key evil --tee-authority evil_auth
nodes="127.0.0.1:$port_a,127.0.0.1:$port_evil,127.0.0.1:$port_b"
"$bin" run --security tee --key client --tee-authority auth --nodes "$nodes" "${args[@]}" --stats \
  >run.txt 2>run.err
check [ $? = 0 ]
check same local.txt run.txt
check grep -q "node 127.0.0.1:$port_evil refused (no data or weights sent to it)" run.err
check grep -q "running on the 2 of 3 nodes that attested" run.err
check grep -q "^0 .*b .*gpu\|^0 *b " run.err          # the GPU TEE is scheduled first
check grep -q "step 3/6 provisioned" a.log
check grep -q "step 3/6 provisioned" b.log
check grep -q "refused by the tls+attest transport" evil.log
# the evil node never got past the handshake: no client greeted, no LOAD, no session
! grep -q "connected\|provisioned\|shard \|session [0-9a-f]" evil.log; check [ $? = 0 ]

# only the evil node: nothing to run on
"$bin" run --security tee --key client --tee-authority auth --nodes "127.0.0.1:$port_evil" -n 5 >/dev/null 2>only.err
check [ $? = 1 ]
check grep -q "no node presented verifying evidence" only.err

# 3. auto: all attest -> tee; a TLS-only node -> general (printed on stderr)
"$bin" run --security auto --key client --tee-authority auth --nodes "127.0.0.1:$port_a,127.0.0.1:$port_b" \
  "${args[@]}" >auto.txt 2>auto.err
check same local.txt auto.txt
check grep -q "security auto: every node presented verifying evidence: using tee" auto.err
start_node plain --key a
"$bin" run --security auto --key client --tee-authority auth --nodes "127.0.0.1:$port_plain" \
  "${args[@]}" >auto2.txt 2>auto2.err
check same local.txt auto2.txt
check grep -q "using general" auto2.err

# 4. presets never override explicit flags; critical is not pretended
"$bin" run --security tee --key client --tee-authority auth --nodes "127.0.0.1:$port_a" --split 2 \
  "${args[@]}" >split.txt 2>split.err
check same local.txt split.txt
! grep -q -- "--split 1" split.err; check [ $? = 0 ]
"$bin" run --security critical --key client --nodes "127.0.0.1:$port_a" -n 2 --timeout 2000 >/dev/null 2>crit.err
if "$bin" run --help 2>&1 | grep -q -- "--int"; then  # the critical pipeline exists (tested elsewhere)
  check grep -q -- "--security critical: --int " crit.err
else
  check [ $? = 1 ]
  check grep -q "not available yet" crit.err
fi
"$bin" run --security tee --insecure --nodes "127.0.0.1:$port_a" -n 5 >/dev/null 2>&1; check [ $? = 2 ]
"$bin" run --security tee --key client --nodes "127.0.0.1:$port_a" -n 5 >/dev/null 2>&1; check [ $? = 2 ]
"$bin" run --security bogus --key client --nodes "127.0.0.1:$port_a" -n 5 >/dev/null 2>&1; check [ $? = 2 ]
"$bin" node --listen 127.0.0.1:0 --security general --key a >/dev/null 2>&1; check [ $? = 2 ]
"$bin" node --listen 127.0.0.1:0 --security tee --key a --tee-authority auth --tee-type bogus >/dev/null 2>&1
check [ $? = 2 ]

exit $fail
