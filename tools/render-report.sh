#!/bin/sh
# Renders a report (HTML from `utmctl report`) to a PNG with headless Chromium, to look at it
# as the customer will. Needs the Debian packages chromium and fonts-noto-cjk (Japanese text).
#
#   tools/render-report.sh report.html [report.png|report.pdf] [WIDTH]
#
# An output name ending in .pdf prints the page to PDF (A4) instead of a screenshot.
# Example from a synthetic capture:
#   python3 ../shared/bench/mktraffic.py /tmp/o.pcap --bytes 3000000 --seed 3 --categories ../shared/corpus/ut1
#   utmctl replay /tmp/o.pcap --categories ../shared/corpus/ut1 --eve /tmp/o.eve
#   utmctl logs ingest --store /tmp/o.db /tmp/o.eve
#   utmctl report --store /tmp/o.db --month 2024-11 -o /tmp/o.html && tools/render-report.sh /tmp/o.html
set -eu
html=${1:?usage: tools/render-report.sh REPORT.html [OUT.png] [WIDTH]}
png=${2:-${html%.html}.png}
width=${3:-1000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "render-report: chromium not installed (apt-get install -y chromium fonts-noto-cjk)" >&2; exit 1; }
[ -r "$html" ] || { echo "render-report: cannot read $html" >&2; exit 1; }
# The page is long: a tall window captures it whole; Chromium crops nothing below the content.
height=$(awk 'BEGIN{n=0} {n+=gsub(/<tr>/,"")} END{print 2000 + n*32}' "$html")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
case $png in
*.pdf)
    "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$dir" --no-pdf-header-footer \
        --print-to-pdf="$png" "file://$abs" >/dev/null 2>&1
    echo "render-report: $png";;
*)
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir" \
        --window-size="$width,$height" --screenshot="$png" "file://$abs" >/dev/null 2>&1
    echo "render-report: $png (${width}x$height)";;
esac
[ -s "$png" ] || { echo "render-report: chromium wrote nothing to $png" >&2; exit 1; }
