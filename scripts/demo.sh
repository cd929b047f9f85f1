#!/usr/bin/env bash
# make demo: a 3-node private pipeline on stories260K (or, when the shared
# model is absent, on a synthetic model, saying so).
set -euo pipefail
build=${BUILD:-build}
models=${VEIL_MODEL_DIR:-../shared/models}
args=()
if [ ! -r "$models/stories260K.bin" ] || [ ! -r "$models/tok512.bin" ]; then
  echo "demo: $models/stories260K.bin not found; using a synthetic model instead" >&2
  "$build/veil" model synth --dim 64 --hidden 172 --layers 5 --heads 8 --kv-heads 4 \
    --vocab 512 --seq 512 --seed 1 -o "$build/demo-synth.bin"
  args=(-m "$build/demo-synth.bin" -z "$build/demo-synth.bin.tok")
fi
if "$build/veil" demo --help >/dev/null 2>&1; then
  exec "$build/veil" demo --nodes 3 "${args[@]}" -i "Once upon a time" -n 128 "$@"
fi
echo "demo: 'veil demo' is not built; running local generation" >&2
exec "$build/veil" generate "${args[@]}" -i "Once upon a time" -n 128 "$@"
