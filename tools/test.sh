#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, runs the whole suite.
# Tests that need ../shared (the third-party corpus) skip elsewhere but fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
tools/setup.sh
swift build --build-tests
# The tests' scratch files (captures, stores, sockets, EVE outputs) go to one directory of this
# run, removed at the end, so a developer's /tmp does not fill up run after run.
TMPDIR="$(mktemp -d /tmp/mimamori-test.XXXXXX)"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
# Every parser's libFuzzer target for a bounded time (about 6 minutes); fails on any crash.
tools/fuzz.sh all "${FUZZ_SECONDS:-20}"
swift test --parallel --num-workers 2
