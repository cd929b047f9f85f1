#!/usr/bin/env bash
# TLS and attestation overhead -> docs/BENCHMARKS.md "## TLS and attestation
# overhead". Called by bench/run.sh (BUILD set) or on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
. bench/lib.sh
out=$(mktemp)
machine=$(bench_machine)
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine (load average $load: a shared"
  echo "machine, so compare rows of one run, not absolute values) with"
  echo "\`$build/bench_tee 50 128\`. Connection setup is the client's time from"
  echo "connect() to a usable stream over loopback TCP; attestation is the sim"
  echo "backend, exchanged and bound to the TLS exporter as in \`--security tee\`."
  echo "Attestation is paid once per connection; per token only TLS record"
  echo "encryption remains. The per-token target is <= 1.1x plain: read the CPU"
  echo "column (what the work costs) first; the wall column on a loaded machine"
  echo "mostly measures scheduling delays of the other tenants. Setup includes"
  echo "pushing the weights (~19 MB) through each transport."
  echo
  "$build/bench_tee" 50 128
} > "$out"
replace_section "TLS and attestation overhead" "$out"
rm -f "$out"
echo "updated $doc (TLS and attestation overhead)"
