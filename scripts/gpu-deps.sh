#!/usr/bin/env bash
# Copies what the GPU check needs but a GPU machine may lack (it fetches
# nothing) into .deps/ (ignored by git), to carry along with the working tree:
#   .deps/googletest   GoogleTest sources (Debian: /usr/src/googletest, from libgtest-dev)
# scripts/gpu-check.sh builds the tests against them when the machine has no
# installed GoogleTest.
#
# Usage: scripts/gpu-deps.sh        (GTEST_SRC may name another source tree)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${GTEST_SRC:-/usr/src/googletest}
if [ ! -f "$src/CMakeLists.txt" ]; then
    echo "gpu-deps: no GoogleTest sources at $src (install libgtest-dev or set GTEST_SRC)" >&2
    exit 1
fi
rm -rf "$root/.deps/googletest"
mkdir -p "$root/.deps"
cp -r "$src" "$root/.deps/googletest"
echo "gpu-deps: $root/.deps/googletest ($(du -sh "$root/.deps/googletest" | cut -f1)); carry .deps"
