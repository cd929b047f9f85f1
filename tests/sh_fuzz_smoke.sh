#!/usr/bin/env bash
# Build every fuzz/fuzz_*.c with clang's libFuzzer (+ASan/UBSan) and run each
# briefly. Skipped (77) when clang or its fuzzer runtime is missing.
set -euo pipefail
src=${VEIL_SOURCE_DIR:?} bin=${VEIL_BIN:?}
secs=${VEIL_FUZZ_SECONDS:-6}
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
for f in "$src"/src/{util,model,zk,privacy,verify,tee,net}/*.c; do
  [ -e "$f" ] || continue
  o="$work/obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
  if [ ! -e "$o" ] || [ "$f" -nt "$o" ] ||
     [ -n "$(find "$src/include" "$src/src" -name '*.h' -newer "$o" -print -quit)" ]; then clang "${flags[@]}" -c "$f" -o "$o"; fi
  objs+=("$o")
done

# Seeds: a tiny synthetic checkpoint and tokenizer.
"$bin" model synth --dim 8 --hidden 12 --layers 1 --heads 2 --kv-heads 1 --vocab 260 \
  --seq 4 -o "$work/seed/tiny.bin" 2>/dev/null

pass=0 fail=0
for target in "$src"/fuzz/fuzz_*.c; do
  name=$(basename "$target" .c)
  exe="$work/$name"
  clang "${flags[@]}" -fsanitize=fuzzer "$target" "${objs[@]}" -o "$exe" \
    -lssl -lcrypto -lsqlite3 -lm -lpthread
  corpus="$work/corpus_$name"
  mkdir -p "$corpus"
  [ -d "$src/fuzz/corpus/$name" ] && cp -n "$src/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
  case $name in
    fuzz_checkpoint) cp "$work/seed/tiny.bin" "$corpus"/ ;;
    fuzz_tokenizer) { printf '\x04'; cat "$work/seed/tiny.bin.tok"; } > "$corpus/tok" ;;
  esac
  if "$exe" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 "$corpus" \
       > "$work/$name.log" 2>&1; then
    echo "ok: $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" || grep -o '#[0-9]* *DONE' "$work/$name.log" | tail -1))"
    pass=$((pass + 1))
  else
    echo "FAIL: $name"; tail -30 "$work/$name.log"
    fail=$((fail + 1))
  fi
done
echo "fuzz smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
