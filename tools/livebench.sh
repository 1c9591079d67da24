#!/usr/bin/env bash
# livebench.sh — what the inline path costs (issue 6): iperf3 throughput and TCP
# request/response latency (tools/rr.c) through a bridge in network namespaces, three ways:
#   none        the bridge alone (no queue)
#   nfq-accept  every bridged packet queued to tools/nfq-accept.c (accept-all C consumer)
#   utmd        every bridged packet queued to utmd (release build) running the full ET rule
#               set, the UT1 categories and the antivirus signatures of ../shared/corpus,
#               with flow bypass (default: TLS after its handshake, TCP past the stream depth)
#   utmd-nobyp  the same with `bypass = off`: every packet of the flow inspected
#   utmd-nodefs utmd with no rules, categories or signatures and `bypass = off`: the cost of
#               the queue path, decoding, flow tracking and reassembly alone
# and prints utmd's throughput as a ratio to nfq-accept (target >= 0.80) and the latency it
# adds at p50/p99 (target p99 < 1 ms). Root; namespaces l2b-*, addresses 10.74.1.0/24, queue
# 742 (the live2 ranges); everything is removed on exit.
#
#   swift build -c release --product utmd && sudo tools/livebench.sh
#   BENCH_SECONDS=10 RR_COUNT=5000 QUEUES=742 tools/livebench.sh     # the defaults
#   CASES="none nfq-accept utmd-nodefs nfq-accept utmd-nodefs" tools/livebench.sh
#       (any cases, any order, repeated ones reported by their medians: interleave on a busy machine)
#
# One queue by default, like the C consumer (one thread each); QUEUES=742-743 gives utmd two.
# The figures depend on the machine and its load: record both with the results.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
UTMD=${UTMD:-$ROOT/.build/release/utmd}
SECS=${BENCH_SECONDS:-10}
RR_COUNT=${RR_COUNT:-5000}
QUEUES=${QUEUES:-742}
CASES=${CASES:-none nfq-accept utmd utmd-nobyp utmd-nodefs}
RULES=${RULES:-$SHARED/corpus/rules/et-open-2019-suricata-4.0.rules}
UT1=${UT1:-$SHARED/corpus/ut1}
AVDB=${AVDB:-$SHARED/corpus/clamav-unit-tests/unit_tests/input/clamav.hdb}
WAN=10.74.1.2
NS="l2b-wan l2b-lan l2b-box"

[ "$(id -u)" = 0 ] || { echo "livebench: needs root (network namespaces, NFQUEUE)" >&2; exit 1; }
for t in ip iptables iperf3 cc pkg-config python3; do
  command -v $t >/dev/null || { echo "livebench: $t not installed" >&2; exit 1; }
done
[ -x "$UTMD" ] || { echo "livebench: $UTMD not built (swift build -c release --product utmd)" >&2; exit 1; }
for f in "$RULES" "$UT1" "$AVDB"; do [ -e "$f" ] || { echo "livebench: $f missing" >&2; exit 1; }; done

remove_namespaces() {
  for n in $NS; do ip netns pids $n 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del $n 2>/dev/null || true; done
}
remove_namespaces
WORK=$(mktemp -d /tmp/livebench.XXXXXX)
trap 'remove_namespaces; rm -rf "$WORK"' EXIT

cc -O2 -Wall -o "$WORK/rr" "$ROOT/tools/rr.c"
cc -O2 -Wall -o "$WORK/nfq-accept" "$ROOT/tools/nfq-accept.c" $(pkg-config --cflags --libs libnetfilter_queue)

for n in $NS; do ip netns add $n; ip -n $n link set lo up; done
ip -n l2b-box link add l2bbr type bridge
ip -n l2b-box link set l2bbr type bridge forward_delay 0 stp_state 0
ip -n l2b-box link set l2bbr up
for p in wan:l2bbw:$WAN lan:l2bbl:10.74.1.10; do
  n=l2b-${p%%:*}; rest=${p#*:}; port=${rest%%:*}; addr=${rest#*:}
  ip link add l2bh netns $n type veth peer name $port netns l2b-box
  ip -n $n addr add $addr/24 dev l2bh
  ip -n $n link set l2bh up
  ip -n l2b-box link set $port master l2bbr
  ip -n l2b-box link set $port up
done
ip netns exec l2b-wan iperf3 -s -B $WAN -D >/dev/null
ip netns exec l2b-wan "$WORK/rr" -s $WAN 7000 &
sleep 0.5

# measure NAME: one iperf3 run and one rr run from the LAN side.
measure() {
  local bps rr
  bps=$(ip netns exec l2b-lan iperf3 -c $WAN -t "$SECS" -J | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
  rr=$(ip netns exec l2b-lan "$WORK/rr" $WAN 7000 "$RR_COUNT" 64)
  local p50 p99
  p50=$(echo "$rr" | sed -E 's/.*p50 ([0-9.]+) us.*/\1/')
  p99=$(echo "$rr" | sed -E 's/.*p99 ([0-9.]+) us.*/\1/')
  echo "$1 $bps $p50 $p99" >> "$WORK/results"
  printf '%-11s %8.0f Mbit/s   rr p50 %7s us   p99 %7s us\n' "$1" "$(echo "$bps / 1000000" | bc -l)" "$p50" "$p99"
}
queue_rule() {
  local target="-j NFQUEUE --queue-num ${QUEUES%%-*} --queue-bypass"
  ip netns exec l2b-box iptables -$1 FORWARD -m physdev --physdev-is-bridged $target
}

run_nfq_accept() {
queue_rule A
ip netns exec l2b-box "$WORK/nfq-accept" "${QUEUES%%-*}" 2>"$WORK/nfq.log" &
NFQ=$!
sleep 0.5
measure nfq-accept
kill -TERM $NFQ; wait $NFQ 2>/dev/null || true
queue_rule D
}

# run_utmd NAME EXTRA-CONFIG-LINE: utmd with the full definitions, measured as NAME.
run_utmd() {
cat > "$WORK/utmd.conf" <<CONF
queues = $QUEUES
mode = bridge
zone.wan = l2bbw
zone.lan = l2bbl
eve = $WORK/eve.json
$2
CONF
[ "${3:-full}" = full ] && printf 'rules = %s\ncategories = %s\nav_db = %s\n' "$RULES" "$UT1" "$AVDB" >> "$WORK/utmd.conf"
ip netns exec l2b-box "$UTMD" --config "$WORK/utmd.conf" 2>"$WORK/utmd.log" &
UTMD_PID=$!
for _ in $(seq 600); do grep -qs "utmd: running" "$WORK/utmd.log" && break; kill -0 $UTMD_PID 2>/dev/null || break; sleep 0.5; done
grep -q "utmd: running" "$WORK/utmd.log" || { echo "livebench: utmd did not start:" >&2; cat "$WORK/utmd.log" >&2; exit 1; }
grep -E "rules: loaded|antivirus:" "$WORK/utmd.log" | sed 's/^/  /' || true
measure "$1"
kill -TERM $UTMD_PID; wait $UTMD_PID 2>/dev/null || true
grep "queue " "$WORK/utmd.log" | sed 's/^/  /' || true
}
echo "livebench: ${SECS}s iperf3, $RR_COUNT round trips of 64 bytes; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CASES; do
  case $c in
    none) measure none ;;
    nfq-accept) run_nfq_accept ;;
    utmd) run_utmd utmd "" ;;
    utmd-nobyp) run_utmd utmd-nobyp "bypass = off" ;;
    utmd-nodefs) run_utmd utmd-nodefs "bypass = off" none ;;
    *) echo "livebench: unknown case $c" >&2; exit 2 ;;
  esac
done

python3 - "$WORK/results" <<'PY'
import sys
from statistics import median
runs = {}
for l in open(sys.argv[1]):
    runs.setdefault(l.split()[0], []).append([float(x) for x in l.split()[1:]])
# A case run several times (CASES="nfq-accept utmd nfq-accept utmd") counts by its medians.
r = {k: [median(x[i] for x in v) for i in range(3)] for k, v in runs.items()}
if "none" not in r or "nfq-accept" not in r:
    sys.exit(0)
n, c = r["none"], r["nfq-accept"]
print(f"added latency vs no queue: nfq-accept p50 {c[1] - n[1]:+.1f} us, p99 {c[2] - n[2]:+.1f} us")
for name in [k for k in ("utmd", "utmd-nobyp", "utmd-nodefs") if k in r]:
    u = r[name]
    print(f"{name}: throughput / nfq-accept {u[0] / c[0]:.2f} (target >= 0.80); "
          f"added latency p50 {u[1] - n[1]:+.1f} us, p99 {u[2] - n[2]:+.1f} us (target p99 < 1000 us)")
PY
