#!/usr/bin/env bash
# Antivirus benchmark: Mimamori's scanner (`utmctl scan`, release build) against clamscan on the
# same synthetic database (100,000 MD5 + 10,000 body signatures) and the same files, both on one
# core (taskset -c 0), files in the page cache.
#   tools/avbench.sh [FILES] [SEED]    (default 200 files of 1 MiB, seed 1; data in /tmp/avbench-SEED-FILES)
# Prints each tool's MB/s and peak RSS, and whether both found exactly the planted detections
# listed in expected.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
files=${1:-200}; seed=${2:-1}
dir=/tmp/avbench-$seed-$files
[ -f "$dir/expected.txt" ] || python3 tools/mkavdb.py "$dir" --files "$files" --seed "$seed" >&2
command -v clamscan >/dev/null || { echo "avbench: clamscan not found (apt-get install -y clamav)" >&2; exit 1; }
swift build -c release --product utmctl >&2
cat "$dir"/files/* > /dev/null   # page cache
bytes=$(du -cb "$dir"/files | tail -1 | cut -f1)

run_timed() {  # label, command...: prints "seconds maxrss_kib" from /usr/bin/time
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.$1" taskset -c 0 "${@:2}" > "$dir/out.$1" 2> "$dir/err.$1" || true
}
run_timed mimamori .build/release/utmctl scan --db "$dir/db" "$dir/files"
run_timed mimamori-nodigest .build/release/utmctl scan --no-fileinfo-digests --db "$dir/db" "$dir/files"
run_timed clamscan clamscan --no-summary --infected -d "$dir/db" -r "$dir/files"

sort "$dir/expected.txt" > "$dir/expected.sorted"
found() {  # normalise "PATH: NAME[.UNOFFICIAL] FOUND" to "file<TAB>name"
  grep ' FOUND$' "$dir/out.$1" | sed -E 's#^.*/([^/]+): (.*) FOUND$#\1\t\2#; s#\.UNOFFICIAL$##' | sort
}
for t in mimamori mimamori-nodigest clamscan; do
  read -r wall user sys rss < <(tail -1 "$dir/time.$t")   # clamscan exits 1 when it found something
  hit=$(found "$t" | comm -12 - "$dir/expected.sorted" | wc -l); extra=$(found "$t" | comm -23 - "$dir/expected.sorted" | wc -l)
  missed=$(found "$t" | comm -13 - "$dir/expected.sorted" | cut -f1 | tr '\n' ' ')
  agree="$hit of $(wc -l < "$dir/expected.sorted") planted detections, $extra other${missed:+; missed: $missed}"
  python3 -c 'import sys; b,w,u,s,r=map(float,sys.argv[2:7]); print("%-18s %7.1f MB/s (wall %.1f s, user+sys %.1f s incl. db load), peak RSS %d MiB; %s" % (sys.argv[1], b/(u+s)/1e6, w, u+s, r/1024, sys.argv[7]))' \
    "$t" "$bytes" "$wall" "$user" "$sys" "$rss" "$agree"
done
echo "utmctl's own line (scan CPU only, db load apart):"; tail -1 "$dir/err.mimamori"; tail -1 "$dir/err.mimamori-nodigest"
