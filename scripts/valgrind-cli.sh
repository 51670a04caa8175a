#!/usr/bin/env bash
# Runs the `fusedopt` tool of a build under valgrind memcheck: several
# schedules (table, csv, every kind), a short selftest on the CPU backend, and
# bad usage. Any memory error or leak fails the script.
#   scripts/valgrind-cli.sh BUILD_DIR     (e.g. build/default)
set -euo pipefail
build=${1:?usage: valgrind-cli.sh BUILD_DIR}
cli="$build/fusedopt"
[ -x "$cli" ] || { echo "valgrind-cli: no $cli" >&2; exit 1; }
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --suppressions="$(dirname "$0")/valgrind.supp" --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible)
# check EXPECTED_STATUS ARGS...: the tool's own exit status must match and valgrind must report nothing.
check() {
  local expected=$1
  shift
  local status=0
  "${vg[@]}" "$cli" "$@" >/dev/null 2>"$build/valgrind-cli.err" || status=$?
  if [ "$status" -ne "$expected" ]; then
    echo "valgrind-cli: 'fusedopt $*' exited $status, expected $expected" >&2
    cat "$build/valgrind-cli.err" >&2
    exit 1
  fi
  echo "valgrind-cli: ok (exit $status): fusedopt $*"
}
check 0 schedule
check 0 schedule --lr 0.1 --t-max 5 --eta-min 0.01 --steps 10 --format csv
check 0 schedule --schedule restarts --t0 3 --t-mult 2 --restart-decay 0.5
check 0 schedule --schedule warmup-cosine --t-max 8 --warmup-steps 2 --format table
check 0 schedule --schedule constant --steps 3
check 0 --version
check 0 selftest --backend cpu --steps 3
check 2 schedule --t-max abc
check 2 selftest --steps 99
check 2 frobnicate
check 2
echo "valgrind-cli: clean"
