# Shared by the network shell tests (source after `set -uo pipefail`; set
# net_test=NAME first to name the scratch directory). Skips (77) without
# stories260K. Provides $bin, $models, $work (removed on exit unless KEEP is
# set), node processes killed on exit, and:
#   check CMD...          run CMD, print ok/FAIL, remember failures in $fail
#   same FILE1 FILE2      files are identical (shows both when not)
#   start_node NAME ARGS  a `veil node` on a free loopback port:
#                         sets pid_NAME and port_NAME, logs to $work/NAME.log
bin=${VEIL_BIN:?} models=${VEIL_MODEL_DIR:?}
[ -f "$models/stories260K.bin" ] || { echo "SKIP: stories260K.bin not in $models"; exit 77; }
work=$(mktemp -d "/tmp/veil-${net_test:-net}-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail=0
check() { if "$@"; then echo "ok: $*"; else echo "FAIL: $*"; fail=1; fi; }
same() { cmp -s "$1" "$2" || { echo "--- $1"; cat "$1"; echo "--- $2"; cat "$2"; return 1; }; }

start_node() {
  "$bin" node --listen 127.0.0.1:0 --name "$1" --threads 1 --port-file "$work/$1.port" \
    "${@:2}" 2>"$work/$1.log" &
  pids+=($!)
  eval "pid_$1=$!"
  for _ in $(seq 200); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  eval "port_$1=$(cat "$work/$1.port")"
}
