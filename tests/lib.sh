# Shared helpers for tests/sh_*.sh (source after `set -uo pipefail`):
# a scratch directory $tmp removed on exit, pass/fail counters, and
#   check NAME EXPECTED_RC CMD...   run CMD (stdout -> $tmp/out, stderr -> $tmp/err)
#   contains NAME FILE TEXT         FILE must contain TEXT
#   expect NAME CONDITION...        a shell condition must hold
#   finish                          print "N passed, M failed"; exit status
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() {
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $name: exit $rc, wanted $want"; head -5 "$tmp/out" "$tmp/err"; fi
}

contains() {
  if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: '$3' not in $2"; head -5 "$2"; fi
}

expect() {
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}

finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
