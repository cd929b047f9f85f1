#!/usr/bin/env bash
# veil zk commit-model / prove-shard / verify-shard: a prefill proof and
# decode-step proofs verify as a chain against the public commitments; out
# of order, tampered, foreign-nonce and unlinked proofs are rejected with
# exit 1 and a reason; usage errors exit 2.
set -uo pipefail
bin=${VEIL_BIN:?}
models=${VEIL_MODEL_DIR:-../shared/models}
[ -f "$models/stories260K.bin" ] || { echo "SKIP: stories260K.bin not found"; exit 77; }
. "$(dirname "$0")/lib.sh"
m="$models/stories260K.bin"
export OMP_NUM_THREADS=1

check "commit-model" 0 "$bin" zk commit-model -m "$m" -o "$tmp/reg"
contains "commit progress on stderr" "$tmp/err" "layers committed"
echo "1 403 407 300" > "$tmp/tok"
n1=$(printf '%064d' 1)
check "prove prefill + 2 decode steps" 0 "$bin" zk prove-shard -m "$m" --layers 0:2 --input "$tmp/tok" \
  --decode 2 -o "$tmp/a" --nonce "$n1"
contains "one line per proof" "$tmp/err" "positions 3..3"
check "the chain verifies" 0 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" "$tmp/a.1" "$tmp/a.2"
contains "decode step verified" "$tmp/out" "OK: layers 0:2, positions 3..3"
check "a decode step alone" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a.1"
contains "needs the earlier cache" "$tmp/out" "the verified cache holds 0"
check "steps out of order" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" "$tmp/a.2" "$tmp/a.1"
check "a step twice" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" "$tmp/a.1" "$tmp/a.1"
# another prompt's prefill: its KV commitments are not the ones the step used
echo "1 403 408 300" > "$tmp/tok2"
check "other prefill" 0 "$bin" zk prove-shard -m "$m" --layers 0:2 --input "$tmp/tok2" --decode 2 -o "$tmp/b" \
  --nonce "$(printf '%064d' 0)"
check "step over another cache" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/b" "$tmp/a.1"
contains "reason" "$tmp/out" "REJECTED"
check "right nonce" 0 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" --nonce "$n1"
check "wrong nonce" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" --nonce "$(printf '%064d' 2)"
contains "nonce reason" "$tmp/out" "another request"
size=$(stat -c %s "$tmp/a.1")
cp "$tmp/a.1" "$tmp/bad"
printf 'x' | dd of="$tmp/bad" bs=1 seek=$((size / 2)) conv=notrunc status=none
check "tampered step" 1 "$bin" zk verify-shard --commitments "$tmp/reg" "$tmp/a" "$tmp/bad"
# the next shard on the same two prefill tokens (same nonce, hence session key)
echo "1 403" > "$tmp/pre"
check "next shard" 0 "$bin" zk prove-shard -m "$m" --layers 2:5 --input "$tmp/pre" -o "$tmp/c" --nonce "$n1"
check "shards link" 0 "$bin" zk verify-shard --commitments "$tmp/reg" --after "$tmp/a" "$tmp/c"
check "unlinked shards" 1 "$bin" zk verify-shard --commitments "$tmp/reg" --after "$tmp/b" "$tmp/c"
check "no proof" 2 "$bin" zk verify-shard --commitments "$tmp/reg"
check "decode leaves no prefill" 2 "$bin" zk prove-shard -m "$m" --layers 0:2 --input "$tmp/tok" --decode 4 -o "$tmp/x"
check "bad layers" 2 "$bin" zk prove-shard -m "$m" --layers 3:9 --input "$tmp/tok" -o "$tmp/x"
finish
