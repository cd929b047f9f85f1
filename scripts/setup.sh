#!/usr/bin/env bash
# Install the Debian 12 packages veil needs to build and test, when missing.
# Runs apt-get as root; otherwise names what is missing and how to get it.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # compiler and build
  libssl-dev                         # TLS 1.3, hashes, signatures (OpenSSL 3)
  libsqlite3-dev                     # reputation ledger
  libsodium-dev libgmp-dev           # test oracles (ristretto255, big integers)
  clang libclang-rt-14-dev libomp-14-dev  # libFuzzer targets (clang + OpenMP)
  openssl                            # s_client interoperability test
  iproute2                           # network-namespace tests
  fortunes fortunes-min              # text corpora for perplexity and attacks
  gnuplot-nox                        # plots in docs/ (make report)
  valgrind                           # memory-error test
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "veil setup: missing Debian packages: ${missing[*]}" >&2
  echo "veil setup: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "veil setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
