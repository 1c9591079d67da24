#!/usr/bin/env bash
# Engine benchmark (release build, one core): decode + flow + stream + app layer (+ IPS),
# over an office capture made by ../shared/bench/mktraffic.py.
#   tools/bench.sh [BYTES] [SEED] [RULES-OR-BUNDLE...]   (default 100000000 bytes, seed 1, no rules)
# Rule files (*.rules) are passed as --rules; anything else is taken as a compiled bundle
# (`utmctl defs compile`), also passed as --rules (replay tells them apart by their magic).
# Environment: BENCH_CPU=N pins to CPU N with taskset (default 0; BENCH_CPU=none: no pinning),
# BENCH_RUNS (default 3).
# Prints the replay summary (Gbit/s, packets/s, seconds, peak RSS) of the best run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bytes=${1:-100000000}; seed=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
rules=()
for r in "$@"; do rules+=(--rules "$r"); done
shared=../shared
[ -f "$shared/bench/mktraffic.py" ] || { echo "bench: $shared/bench/mktraffic.py not found" >&2; exit 1; }
cap=/tmp/mimamori-office-$bytes-$seed.pcap
if [ ! -f "$cap" ]; then
  python3 "$shared/bench/mktraffic.py" "$cap" --bytes "$bytes" --seed "$seed" \
    --categories "$shared/corpus/ut1" --truth "${cap%.pcap}.truth.jsonl" >&2
fi
swift build -c release --product utmctl >&2
cpu=${BENCH_CPU:-0}
pin=(taskset -c "$cpu")
[ "$cpu" = none ] && pin=()
best=""
for i in $(seq 1 "${BENCH_RUNS:-3}"); do
  line=$("${pin[@]}" .build/release/utmctl replay "$cap" ${rules[@]+"${rules[@]}"} --eve /dev/null 2>&1 >/dev/null | tail -1)
  echo "run $i: $line" >&2
  gbps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gbps"])' "$line")
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $gbps > ${best%% *} else 1)"; then best="$gbps $line"; fi
done
echo "${best#* }"
