#!/usr/bin/env bash
# Memory errors and leaks: the parser and engine tests under valgrind memcheck.
# (The full suite runs under ASan/UBSan with `make asan`.)
set -uo pipefail
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
dir=${VEIL_BUILD_DIR:?}/tests
# sanitizer builds (make asan) check memory themselves; valgrind cannot run them
# (grep without -q reads all of ldd's output: with -q and pipefail, ldd could
# die of SIGPIPE and the check fail at random)
if ldd "$dir/test_loader" 2>/dev/null | grep libasan >/dev/null; then
  echo "SKIP: AddressSanitizer build: valgrind does not apply"; exit 77
fi
pass=0 fail=0
for t in test_loader test_tokenizer test_kernels test_model test_critical; do
  [ -x "$dir/$t" ] || continue
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$dir/$t" > "/tmp/valgrind-$$-$t.log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then pass=$((pass + 1)); echo "ok: $t";
  else fail=$((fail + 1)); echo "FAIL: $t (exit $rc)"; tail -30 "/tmp/valgrind-$$-$t.log"; fi
  rm -f "/tmp/valgrind-$$-$t.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
