#!/usr/bin/env bash
# veil keygen / veil tee ...: identities, the simulated authority, evidence
# and verification from the shell (exit codes 0 / 1 / 2 and the reasons), and
# `openssl s_client` completing a TLS 1.3 handshake with `veil node --key`.
set -uo pipefail
bin=${VEIL_BIN:?}
work=$(mktemp -d)
trap 'kill $node_pid 2>/dev/null; rm -rf "$work"' EXIT
node_pid=
cd "$work"
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
# expect CODE PATTERN DESC -- command...: exit code and (optional) output text
expect() {
  local code=$1 pat=$2 desc=$3; shift 4
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ]; then bad "$desc: exit $rc, wanted $code: $out"; return; fi
  if [ -n "$pat" ] && ! grep -q -- "$pat" <<<"$out"; then bad "$desc: no '$pat' in: $out"; return; fi
  ok "$desc"
}

expect 0 "peer id:" "keygen" -- "$bin" keygen -o node1
expect 1 "not overwriting" "keygen refuses to overwrite" -- "$bin" keygen -o node1
[ "$(stat -c %a node1.key)" = 600 ] && ok "key is mode 0600" || bad "key mode $(stat -c %a node1.key)"
id=$("$bin" keygen -o node2 | sed -n 's/^peer id: //p')
id_ssl=$(openssl x509 -in node2.crt -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
[ "$id" = "$id_ssl" ] && ok "peer id = SHA-256 of the SPKI (openssl agrees)" || bad "peer id $id vs $id_ssl"
openssl pkey -in node1.key -noout -text 2>/dev/null | grep -q ED25519 && ok "key is Ed25519" || bad "key type"

expect 0 "SIMULATED" "tee authority init" -- "$bin" tee authority init -o auth
expect 1 "not overwriting" "authority init refuses to overwrite" -- "$bin" tee authority init -o auth
echo "layers=0-3" > node.conf
head -c 4096 /dev/urandom > shard.bin
meas=$("$bin" tee measure --config node.conf --weights shard.bin)
[ ${#meas} -eq 96 ] && ok "tee measure" || bad "tee measure: $meas"
meas2=$("$bin" tee measure --config node.conf)
[ "$meas" != "$meas2" ] && ok "measurement covers the weights" || bad "weights not measured"

rd=$(printf '%0128x' 0)
rd=${rd%??}01
rd_other=${rd%??}02
expect 0 "" "tee evidence (sim)" -- "$bin" tee evidence --backend sim --authority auth \
  --report-data "$rd" --config node.conf --weights shard.bin --tee-type gpu-tee --capacity 1073741824 --gpus 1 -o ev.bin
expect 0 "simulated" "tee verify accepts and says simulated" -- "$bin" tee verify ev.bin --authority auth --report-data "$rd"
expect 0 "gpu-tee" "claims carry the TEE type" -- "$bin" tee verify ev.bin --authority auth --report-data "$rd"
expect 1 "report_data mismatch" "tee verify: report_data mismatch" -- "$bin" tee verify ev.bin --authority auth --report-data "$rd_other"

printf 'backend = sim\nsim_root = auth/root.crt\nmeasurement = %s\n' "$meas" > good.policy
printf 'backend = sim\nsim_root = auth/root.crt\nmeasurement = %s\n' "$meas2" > other.policy
printf 'sim_root = auth/root.crt\nmeasurement = %s\nmin_tee_type = gpu-tee\nallow_sim = 0\n' "$meas" > nosim.policy
expect 0 "VERIFIED" "policy allow-list accepts the measurement" -- "$bin" tee verify ev.bin --policy good.policy --report-data "$rd"
expect 1 "unknown measurement" "policy refuses an unknown measurement" -- "$bin" tee verify ev.bin --policy other.policy --report-data "$rd"
expect 1 "refuses simulated" "policy can refuse the sim backend" -- "$bin" tee verify ev.bin --policy nosim.policy --report-data "$rd"
"$bin" tee authority init -o auth2 >/dev/null
expect 1 "does not verify" "evidence from another authority" -- "$bin" tee verify ev.bin --authority auth2 --report-data "$rd"

size=$(stat -c %s ev.bin)
head -c $((size - 1)) ev.bin > trunc.bin
expect 1 "truncated" "truncated evidence" -- "$bin" tee verify trunc.bin --authority auth --report-data "$rd"
{ cat ev.bin; head -c 70000 /dev/zero; } > big.bin
expect 1 "oversized" "oversized evidence" -- "$bin" tee verify big.bin --authority auth --report-data "$rd"
cp ev.bin tamper.bin
printf '\x01' | dd of=tamper.bin bs=1 seek=60 conv=notrunc 2>/dev/null
expect 1 "bad signature" "tampered evidence" -- "$bin" tee verify tamper.bin --authority auth --report-data "$rd"

expect 2 "128 hex" "bad --report-data is a usage error" -- "$bin" tee verify ev.bin --authority auth --report-data abc
expect 2 "backend" "unknown backend is a usage error" -- "$bin" tee evidence --backend sgx --report-data "$rd" -o x
expect 1 "configfs-tsm is not available" "sev-snp without hardware says why" -- \
  "$bin" tee evidence --backend sev-snp --tsm "$work/no-tsm" --report-data "$rd" -o x

# openssl s_client against a veil node (when veil node exists in this build)
if "$bin" node --help >/dev/null 2>&1 && command -v openssl >/dev/null; then
  "$bin" node --listen 127.0.0.1:0 --key node1 --port-file port --name tls-probe 2>node.log &
  node_pid=$!
  for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
  port=$(cat port 2>/dev/null)
  out=$(timeout 20 openssl s_client -connect "127.0.0.1:$port" -cert node2.crt -key node2.key \
        -tls1_3 -brief </dev/null 2>&1)
  if grep -q "TLSv1.3" <<<"$out" && grep -qE "TLS_AES_256_GCM_SHA384|TLS_CHACHA20_POLY1305_SHA256" <<<"$out"; then
    ok "openssl s_client completes a TLS 1.3 handshake with veil node --key"
  else
    bad "s_client against veil node: $out"
  fi
  out=$(timeout 20 openssl s_client -connect "127.0.0.1:$port" -cert node2.crt -key node2.key \
        -tls1_2 -brief </dev/null 2>&1)
  grep -q "TLSv1.3" <<<"$out" && bad "node accepted something other than TLS 1.3" || ok "node refuses TLS 1.2"
  kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; node_pid=
else
  echo "note: veil node not in this build; s_client interop is covered by test_tee_tls"
fi
exit $fail
