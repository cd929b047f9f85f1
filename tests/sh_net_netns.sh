#!/usr/bin/env bash
# The pipeline across separate network hosts: a client and 3 nodes, each in
# its own network namespace with its own address, joined by veth pairs to a
# bridge, with `tc netem` delay on every link (RTT 2*2*DELAY between any two
# hosts; 20 ms by default). Text must equal local `veil generate`.
# Needs root and `ip netns`; skipped (77) otherwise. Where the kernel lacks
# the netem qdisc, the same delay is added in user space instead: a delay
# relay (tests/net_delay_proxy.py) in front of every node holds each chunk
# for 2*DELAY ms in each direction, which gives the same RTT per link.
# VEIL_NETNS_DELAY_MS (one-way per link end, default 5) and VEIL_NETNS_STEPS
# (default 40) tune it; bench/bench_net.sh reads the tok/s it prints.
set -uo pipefail
bin=${VEIL_BIN:?} models=${VEIL_MODEL_DIR:?}
delay=${VEIL_NETNS_DELAY_MS:-5} steps=${VEIL_NETNS_STEPS:-40}
[ -f "$models/stories260K.bin" ] || { echo "SKIP: stories260K.bin not in $models"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for ip netns"; exit 77; }
command -v ip >/dev/null && command -v tc >/dev/null || { echo "SKIP: ip/tc not installed"; exit 77; }
tag=v$$
net=10.$((20 + $$ % 200)).7
hosts=(c n0 n1 n2)
work=$(mktemp -d /tmp/veil-netns-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for h in sw "${hosts[@]}"; do ip netns del "$tag$h" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "${tag}sw" 2>/dev/null || { echo "SKIP: ip netns add is not permitted here"; exit 77; }
ip -n "${tag}sw" link add br0 type bridge && ip -n "${tag}sw" link set br0 up || { echo "SKIP: no bridge support"; exit 77; }
i=1
for h in "${hosts[@]}"; do
  ns=$tag$h
  ip netns add "$ns"
  ip link add "${tag}$h" type veth peer name "${tag}$h-p" || { echo "SKIP: no veth support"; exit 77; }
  ip link set "${tag}$h" netns "$ns"
  ip link set "${tag}$h-p" netns "${tag}sw"
  ip -n "$ns" link set "${tag}$h" name eth0
  ip -n "$ns" addr add "$net.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "${tag}sw" link set "${tag}$h-p" master br0 up
  if [ -z "${proxy:-}" ] && ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "${delay}ms" 2>/dev/null &&
     ip netns exec "${tag}sw" tc qdisc add dev "${tag}$h-p" root netem delay "${delay}ms"; then
    proxy=0
  else
    proxy=1
  fi
  eval "addr_$h=$net.$i"
  i=$((i + 1))
done
rtt="$((4 * delay)) (configured)"
command -v ping >/dev/null &&
  rtt=$(ip netns exec "${tag}c" ping -c 3 -i 0.2 -q "$addr_n0" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
port=7000
if [ "$proxy" = 1 ]; then
  command -v python3 >/dev/null || { echo "SKIP: no netem and no python3 for the delay relay"; exit 77; }
  rtt=$((4 * delay))
  echo "netem unavailable: user-space delay relay, $((2 * delay)) ms each way per link (RTT $rtt ms)"
  port=7001
else
  echo "client <-> n0 RTT (netem): ${rtt} ms"
fi

nodes=
for h in n0 n1 n2; do
  a=$(eval echo "\$addr_$h")
  ip netns exec "$tag$h" "$bin" node --listen "$a:7000" --name "$h" --insecure --threads 1 \
    --port-file "$work/$h.port" 2>"$work/$h.log" &
  pids+=($!)
  if [ "$proxy" = 1 ]; then
    ip netns exec "$tag$h" python3 "${VEIL_SOURCE_DIR:?}/tests/net_delay_proxy.py" "$a:7001" "$a:7000" \
      "$((2 * delay))" 2>"$work/$h.proxy.log" &
    pids+=($!)
  fi
  for _ in $(seq 100); do [ -s "$work/$h.port" ] && break; sleep 0.05; done
  for _ in $(seq 100); do # the relay (or the node) accepts connections
    ip netns exec "${tag}c" bash -c "exec 3<>/dev/tcp/$a/$port" 2>/dev/null && break
    sleep 0.05
  done
  nodes="$nodes${nodes:+,}$a:$port"
done

args=(-n "$steps" -i "Once upon a time" -t 0.9 -s 99)
"$bin" generate "${args[@]}" >"$work/local.txt" 2>/dev/null
ip netns exec "${tag}c" "$bin" run --insecure --nodes "$nodes" "${args[@]}" --stats \
  >"$work/run.txt" 2>"$work/run.err"
cat "$work/run.err"
if cmp -s "$work/local.txt" "$work/run.txt"; then
  echo "ok: 3 nodes in separate namespaces, RTT ${rtt} ms: text equals veil generate"
  grep "achieved tok/s" "$work/run.err" | sed "s/^/netns RTT ${rtt} ms: /"
else
  echo "FAIL: text differs"; cat "$work/local.txt" "$work/run.txt"; exit 1
fi
