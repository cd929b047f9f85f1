#!/usr/bin/env bash
# Build every fuzz/fuzz_*.c with clang's libFuzzer (+ASan/UBSan) and run each
# briefly. Skipped (77) when clang or its fuzzer runtime is missing.
set -euo pipefail
src=${VEIL_SOURCE_DIR:?} bin=${VEIL_BIN:?}
secs=${VEIL_FUZZ_SECONDS:-5}
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
work=${VEIL_BUILD_DIR:-/tmp}/fuzz
mkdir -p "$work/obj" "$work/seed"
echo 'int LLVMFuzzerTestOneInput(const char*d,unsigned long n){return 0;}' > "$work/probe.c"
clang -fsanitize=fuzzer -fopenmp "$work/probe.c" -o "$work/probe" 2>/dev/null ||
  { echo "SKIP: clang lacks libFuzzer or OpenMP runtimes (libclang-rt-14-dev, libomp-14-dev)"; exit 77; }

flags=(-g -O1 -std=c11 -D_GNU_SOURCE -fopenmp -Wno-psabi -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$src/include" -I"$src/src")
# The library once, as objects; each target links against them. Objects are
# rebuilt when their source or the flags change.
stamp="${flags[*]}"
[ "$(cat "$work/obj/flags" 2>/dev/null)" = "$stamp" ] || { rm -f "$work"/obj/*.o; echo "$stamp" > "$work/obj/flags"; }
objs=()
jobs=$(nproc)
for f in "$src"/src/{util,model,zk,privacy,verify,tee,net}/*.c; do
  [ -e "$f" ] || continue
  o="$work/obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
  if [ ! -e "$o" ] || [ "$f" -nt "$o" ] ||
     [ -n "$(find "$src/include" "$src/src" -name '*.h' -newer "$o" -print -quit)" ]; then
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    clang "${flags[@]}" -c "$f" -o "$o" &
  fi
  objs+=("$o")
done
wait
# Seeds: a tiny synthetic checkpoint and tokenizer.
"$bin" model synth --dim 8 --hidden 12 --layers 1 --heads 2 --kv-heads 1 --vocab 260 \
  --seq 4 -o "$work/seed/tiny.bin" 2>/dev/null

# Build every target, then run them $jobs at a time.
targets=()
for target in "$src"/fuzz/fuzz_*.c; do
  name=$(basename "$target" .c)
  targets+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  clang "${flags[@]}" -fsanitize=fuzzer "$target" "${objs[@]}" -o "$work/$name" \
    -lssl -lcrypto -lsqlite3 -lm -lpthread &
done
wait

run_target() {
  local name=$1 corpus="$work/corpus_$1"
  mkdir -p "$corpus"
  [ -d "$src/fuzz/corpus/$name" ] && cp -n "$src/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
  case $name in
    fuzz_checkpoint) cp "$work/seed/tiny.bin" "$corpus"/ ;;
    fuzz_tokenizer) { printf '\x04'; cat "$work/seed/tiny.bin.tok"; } > "$corpus/tok" ;;
  esac
  "$work/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 "$corpus" \
    > "$work/$name.log" 2>&1
  echo $? > "$work/$name.rc"
}
for name in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_target "$name" &
done
wait

pass=0 fail=0
for name in "${targets[@]}"; do
  if [ -x "$work/$name" ] && [ "$(cat "$work/$name.rc" 2>/dev/null)" = 0 ]; then
    echo "ok: $name ($(grep -o 'Done [0-9]* runs' "$work/$name.log" | tail -1))"
    pass=$((pass + 1))
  else
    echo "FAIL: $name"; tail -30 "$work/$name.log" 2>/dev/null
    fail=$((fail + 1))
  fi
done
echo "fuzz smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
