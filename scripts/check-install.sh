#!/usr/bin/env bash
# Checks that an installed fusedopt works for a project outside this tree.
#
#   scripts/check-install.sh BUILD_DIR
#
# 1. installs BUILD_DIR (a configured, built fusedopt tree) into a temporary prefix
#    and checks the expected files are there;
# 2. builds tests/consumer with CMake: find_package(fusedopt CONFIG) and the
#    targets fusedopt::fusedopt (shared) and fusedopt::fusedopt_static, runs both;
# 3. builds the same consumer.c with the compiler and `pkg-config fusedopt`, runs it.
# Exits non-zero on the first failure. The temporary directory is removed.
set -euo pipefail

if [[ $# -ne 1 || ! -f "$1/CMakeCache.txt" ]]; then
  echo "usage: $0 BUILD_DIR   (a configured fusedopt build directory)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fopt-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
step() { printf '\n== %s\n' "$*"; }

step "build and install $build into $prefix"
cmake --build "$build" --target fusedopt_static fusedopt_shared fusedopt_cli -j 2 >/dev/null
cmake --install "$build" --prefix "$prefix" >/dev/null
(cd "$prefix" && find . -type f -o -type l | sort)
for f in include/fusedopt.h bin/fusedopt; do
  [[ -e "$prefix/$f" ]] || { echo "check-install: missing $f" >&2; exit 1; }
done
for pattern in 'libfusedopt.a' 'libfusedopt.so' 'fusedoptConfig.cmake' 'fusedoptTargets.cmake' 'fusedopt.pc'; do
  [[ -n "$(find "$prefix" -name "$pattern" -print -quit)" ]] || {
    echo "check-install: missing $pattern" >&2; exit 1; }
done
"$prefix/bin/fusedopt" --version

step "CMake consumer: find_package(fusedopt CONFIG)"
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
grep 'found fusedopt' "$tmp/configure.log"
cmake --build "$tmp/cmake-build" >/dev/null
echo "-- consumer (fusedopt::fusedopt, shared):"
"$tmp/cmake-build/consumer"
echo "-- consumer_static (fusedopt::fusedopt_static):"
"$tmp/cmake-build/consumer_static"

step "pkg-config consumer"
pcdir=$(dirname "$(find "$prefix" -name fusedopt.pc -print -quit)")
export PKG_CONFIG_PATH="$pcdir"
echo "cflags: $(pkg-config --cflags fusedopt)"
echo "libs:   $(pkg-config --libs fusedopt)"
libdir=$(pkg-config --variable=libdir fusedopt)
# shellcheck disable=SC2046 # pkg-config output is meant to be word-split
${CC:-cc} -std=c11 -Wall -Wextra -Werror "$src/tests/consumer/consumer.c" -o "$tmp/consumer_pc" \
  $(pkg-config --cflags --libs fusedopt) -Wl,-rpath,"$libdir"
"$tmp/consumer_pc"

step "check-install: OK"
