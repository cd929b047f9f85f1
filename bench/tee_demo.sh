#!/usr/bin/env bash
# Per-token latency of `veil demo --security tee` (attested TLS 1.3, sim TEE,
# lifecycle bookkeeping) against the same demo in plaintext (--insecure) and
# with plain TLS (the demo's default), 3 local nodes, greedy decoding. Runs
# are interleaved (a shared machine drifts) and the median is reported.
# usage: bench/tee_demo.sh VEIL_BIN [RUNS] [STEPS] [-- extra demo args, e.g. -m M -z T]
set -euo pipefail
bin=${1:?veil binary}; runs=${2:-5}; steps=${3:-256}; shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
declare -A tps
modes=(plain tls tee)
for r in $(seq "$runs"); do
  for m in "${modes[@]}"; do
    case $m in
      plain) sec=(--insecure) ;;
      tls) sec=() ;;
      tee) sec=(--security tee) ;;
    esac
    # --split 0: the same layout in every mode (the tee preset would keep layer 0 local)
    t=$("$bin" demo "${sec[@]}" --split 0 -n "$steps" -t 0 -i "Once upon a time" "${extra[@]}" 2>&1 >/dev/null |
        sed -n 's/^achieved tok\/s: //p' | tail -1)
    tps[$m]+="$t "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${tps[plain]}" | median)
printf '| mode | tok/s (median of %d) | ms per token | vs plain |\n|---|---:|---:|---:|\n' "$runs"
for m in "${modes[@]}"; do
  v=$(echo "${tps[$m]}" | median)
  awk -v m="$m" -v v="$v" -v b="$base" 'BEGIN {printf "| %s | %.1f | %.3f | %.2fx |\n", m, v, 1000 / v, b / v}'
done
echo "raw tok/s: plain ${tps[plain]}/ tls ${tps[tls]}/ tee ${tps[tee]}" >&2
