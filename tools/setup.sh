#!/usr/bin/env bash
# Installs everything Mimamori needs on a fresh Debian machine (run as root, or with sudo):
# the C libraries' -dev packages the shims link against, and the tools the tests compare with.
# Swift itself is expected at /opt/swift (or on PATH). Idempotent: safe to run again.
set -euo pipefail
packages=(
  libpcap-dev          # capture files (CPcap)
  libssl-dev           # libcrypto: QUIC Initial keys (COpenSSL)
  zlib1g-dev           # gzip/deflate bodies (CZlib)
  libpcre2-dev         # rule pcre (CPCRE2)
  libsqlite3-dev       # event store
  libnetfilter-queue-dev  # the live inline path
  tshark               # reference dissector for the corpus test
  python3 python3-yaml # sv-check and the traffic generator
  iproute2             # network-namespace tests
  iptables             # utmd installs its NFQUEUE rules with iptables (and the live test checks them)
  nftables             # nft: inspecting the rules iptables-nft writes; the nft backend later
  libhyperscan-dev     # mpm-bench compares our matcher with Hyperscan (never linked by the engine)
  clamav clamav-testfiles  # clamscan and its test files, the antivirus comparison
  openssl              # mimamori-cloud init and the live tests' certificates
  iperf3 bc            # tools/livebench.sh throughput through the bridge
  curl                 # the live tests' HTTP/HTTPS client
  libbz2-dev           # bzip2 members and .bz2 files in the antivirus (CBzip2)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "setup: Swift 6.x not found (expected /opt/swift or on PATH)" >&2
    exit 1
  fi
fi
