#!/usr/bin/env bash
# veil model profile: writes a CDV profile, validates its arguments.
set -uo pipefail
bin=${VEIL_BIN:?}
models=${VEIL_MODEL_DIR:-../shared/models}
[ -f "$models/stories260K.bin" ] || { echo "SKIP: stories260K.bin not found"; exit 77; }
. "$(dirname "$0")/lib.sh"

m="$models/stories260K.bin" z="$models/tok512.bin"
check "profile samples" 0 "$bin" model profile -m "$m" --samples 2 -n 64 -o "$tmp/p.cdv"
contains "profile header" "$tmp/p.cdv" "veil-cdv-profile 2"
contains "profile names the model" "$tmp/p.cdv" "model b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"
contains "profile summary" "$tmp/err" "layer 4:"
printf 'Once upon a time, there was a little girl.\n\nThe cat sat on the mat.\n' > "$tmp/corpus.txt"
check "profile corpus" 0 "$bin" model profile -m "$m" -z "$z" --corpus "$tmp/corpus.txt" -k 4 -o "$tmp/c.cdv"
contains "corpus source" "$tmp/err" "corpus.txt"
check "no output" 2 "$bin" model profile -m "$m"
check "corpus without tokenizer" 2 "$bin" model profile -m "$m" --corpus "$tmp/corpus.txt" -o "$tmp/x.cdv"
check "bad samples" 2 "$bin" model profile --samples 0 -o "$tmp/x.cdv"
check "bad topk" 2 "$bin" model profile -k abc -o "$tmp/x.cdv"
check "missing model" 1 "$bin" model profile -m "$tmp/none.bin" -z "$z" -o "$tmp/x.cdv"
check "missing corpus" 1 "$bin" model profile -m "$m" -z "$z" --corpus "$tmp/none.txt" -o "$tmp/x.cdv"
check "unwritable output" 1 "$bin" model profile -m "$m" --samples 1 -n 8 -o "$tmp/no/dir/x.cdv"
check "help" 0 "$bin" model profile --help
contains "help lists corpus" "$tmp/out" "--corpus"

check "ledger show empty" 0 "$bin" ledger show --db "$tmp/l.db"
contains "ledger header" "$tmp/out" "score"
check "ledger show node" 0 "$bin" ledger show --db "$tmp/l.db" somebody
contains "unknown node neutral" "$tmp/out" "0.500"
check "ledger forgive needs a node" 2 "$bin" ledger forgive --db "$tmp/l.db"
check "ledger forgive" 0 "$bin" ledger forgive --db "$tmp/l.db" somebody
check "ledger bad path" 1 "$bin" ledger show --db "$tmp/no/dir/l.db"

finish
