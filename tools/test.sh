#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, runs the whole suite.
# Tests that need ../shared (the third-party corpus) skip elsewhere but fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
tools/setup.sh
swift build --build-tests
# Every parser's libFuzzer target for a bounded time (about 6 minutes); fails on any crash.
tools/fuzz.sh all "${FUZZ_SECONDS:-20}"
swift test --parallel --num-workers 2
