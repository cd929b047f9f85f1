#!/usr/bin/env bash
# veil zk matmul / zk verify: a proof round trip; altered, truncated,
# foreign and missing files rejected with exit 1 and a reason; usage
# errors exit 2.
set -uo pipefail
bin=${VEIL_BIN:?}
. "$(dirname "$0")/lib.sh"
# flip one byte of $1 at offset $2 into $3
flip() { cp "$1" "$3"; printf "$(printf '\\%03o' $(( ($(od -An -tu1 -j"$2" -N1 "$1") ^ 0x41) )))" |
         dd of="$3" bs=1 seek="$2" conv=notrunc status=none; }

p=$tmp/p.bin
check "prove" 0 "$bin" zk matmul --m 5 --k 9 --n 3 --bits 12 --seed 7 --prove "$p"
contains "prove prints the statement" "$tmp/out" "A 5x9, B 9x3"
contains "prove prints the size" "$tmp/out" "proof size:"
contains "prove prints the time" "$tmp/out" "prove time:"
check "verify" 0 "$bin" zk verify "$p"
contains "verify says so" "$tmp/out" "verified:"
size=$(stat -c %s "$p")
# bytes in the header, the dimensions, a commitment, the sum-check and the end
for off in 0 5 13 20 40 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 1)); do
  flip "$p" "$off" "$tmp/bad.bin"
  check "altered byte $off rejected" 1 "$bin" zk verify "$tmp/bad.bin"
  contains "altered byte $off: reason" "$tmp/err" "REJECTED"
done
head -c $((size - 7)) "$p" > "$tmp/short.bin"
check "truncated" 1 "$bin" zk verify "$tmp/short.bin"
{ cat "$p"; printf 'x'; } > "$tmp/long.bin"
check "trailing byte" 1 "$bin" zk verify "$tmp/long.bin"
head -c 4096 /dev/urandom > "$tmp/rand.bin"
check "random bytes" 1 "$bin" zk verify "$tmp/rand.bin"
: > "$tmp/empty.bin"
check "empty file" 1 "$bin" zk verify "$tmp/empty.bin"
check "missing file" 1 "$bin" zk verify "$tmp/nope.bin"
# a proof for other dimensions is a different statement
"$bin" zk matmul --m 5 --k 9 --n 4 --prove "$tmp/q.bin" >/dev/null
check "other proof verifies" 0 "$bin" zk verify "$tmp/q.bin"

# range checks and ReLU
check "range prove" 0 "$bin" zk range --n 100 --bits 6 --prove "$tmp/r.bin"
contains "range statement" "$tmp/out" "in [0, 2^6)"
check "range verify" 0 "$bin" zk verify "$tmp/r.bin"
contains "range verified" "$tmp/out" "committed values in [0, 2^6)"
flip "$tmp/r.bin" 300 "$tmp/rbad.bin"
check "range altered" 1 "$bin" zk verify "$tmp/rbad.bin"
check "relu prove" 0 "$bin" zk relu --n 50 --bits 10 --prove "$tmp/l.bin"
check "relu verify" 0 "$bin" zk verify "$tmp/l.bin"
contains "relu verified" "$tmp/out" "ReLU"
flip "$tmp/l.bin" 999 "$tmp/lbad.bin"
check "relu altered" 1 "$bin" zk verify "$tmp/lbad.bin"
# a range proof relabelled as a ReLU proof (kind byte at offset 6)
flip "$tmp/r.bin" 6 "$tmp/kind.bin"
check "wrong kind" 1 "$bin" zk verify "$tmp/kind.bin"
check "range bits too large" 2 "$bin" zk range --n 4 --bits 21 --prove "$tmp/x.bin"
check "relu needs --n" 2 "$bin" zk relu --prove "$tmp/x.bin"

check "missing --prove" 2 "$bin" zk matmul --m 2 --k 2 --n 2
check "missing --k" 2 "$bin" zk matmul --m 2 --n 2 --prove "$tmp/x.bin"
check "bits too large" 2 "$bin" zk matmul --m 2 --k 2 --n 2 --bits 25 --prove "$tmp/x.bin"
check "zero dimension" 2 "$bin" zk matmul --m 0 --k 2 --n 2 --prove "$tmp/x.bin"
check "too large" 2 "$bin" zk matmul --m 16384 --k 16384 --n 2 --prove "$tmp/x.bin"
check "verify needs a file" 2 "$bin" zk verify
check "unwritable output" 1 "$bin" zk matmul --m 2 --k 2 --n 2 --prove /nonexistent/dir/p.bin

finish
