#!/usr/bin/env bash
# Compiles and runs the C program shown in README.md against a build tree, so
# the snippet users copy stays correct. Usage: scripts/check-readme.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check-readme.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The first ```c block after "## The API at a glance".
awk '/^## The API at a glance/ {section = 1}
     section && /^```c$/ && !done {inside = 1; next}
     inside && /^```$/ {inside = 0; done = 1}
     inside {print}' "$top/README.md" > "$work/snippet.c"
[ -s "$work/snippet.c" ] || { echo "check-readme: no C block found in README.md" >&2; exit 1; }
libs="$build/src/libfusedopt.a -lm -lpthread"
# A library built with CUDA also needs the CUDA runtime and the C++ runtime.
if grep -q '^CMAKE_CUDA_COMPILER:[A-Z]*=/' "$build/CMakeCache.txt"; then
  libs="$libs -L/usr/local/cuda/lib64 -lcudart -lstdc++"
fi
cc -std=c11 -Wall -Wextra -Werror -I"$top/include" "$work/snippet.c" $libs -o "$work/snippet"
"$work/snippet"
echo "check-readme: README snippet compiled and ran"
