#!/usr/bin/env bash
# The checks that need a GPU, in one run sized for about 5 minutes on a fresh
# machine: configure and build from scratch, `ctest -L gpu`, `fusedopt selftest
# --backend cuda`, `fusedopt bench --quick --device gpu`, then compute-sanitizer
# memcheck and racecheck on the GPU test binary with the time that is left.
#
# The GPU machine may have no GoogleTest and fetch nothing: run
# scripts/gpu-deps.sh first and carry .deps; without either, the tests are
# left out (reported as a failed step) and the selftest and benchmark still run.
#
# Usage: scripts/gpu-check.sh [REPORT.md]
#   default report: bench/results/gpu-check-<UTC date-time>.md
#   environment: BUILD_DIR (default build-gpu-check), JOBS (default: all cores),
#                BUDGET_S (seconds for the whole check, default 290)
#
# Every step runs under a time limit and is recorded (PASS / FAIL / SKIP,
# seconds, last lines of output) in the report; a failed step does not stop
# the later ones. Exits 1 if any step failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
report=${1:-bench/results/gpu-check-$(date -u +%Y%m%d-%H%M%S).md}
build=${BUILD_DIR:-build-gpu-check}
jobs=${JOBS:-$(nproc)}
budget=${BUDGET_S:-290}
deadline=$(($(date +%s) + budget))
mkdir -p "$(dirname "$report")" || exit 1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0

PATH=$PATH:/usr/local/cuda/bin
sanitizer=$(command -v compute-sanitizer || true)

section() { printf '\n## %s\n\n' "$1" >>"$report"; }

# step NAME LIMIT_SECONDS COMMAND...: runs it, records the result and the tail
# of its output. The limit is cut to what is left of the overall budget; a step
# with under 5 s left is not started and counts as failed. The exit status is
# left in last_rc.
last_rc=0
step() {
    local name=$1 limit=$2
    shift 2
    local log="$logs/step.log" start rc status left=$((deadline - $(date +%s)))
    if [ "$left" -lt 5 ]; then
        skip "$name" "not started: the ${budget}s budget of the whole check is spent"
        failed=$((failed + 1))
        last_rc=1
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    last_rc=$rc
    if [ "$rc" -eq 0 ]; then status=PASS; else status=FAIL; failed=$((failed + 1)); fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status="FAIL (timed out after ${limit}s)"; fi
    if [ "$rc" -ne 0 ] && grep -q "Device not supported" "$log"; then
        status="$status (compute-sanitizer refused this device: the machine's runtime, not the code)"
    fi
    echo "   $status (rc $rc, $(($(date +%s) - start)) s)"
    section "$name: $status"
    {
        printf 'Command: `%s` (rc %d, %d s)\n\n```\n' "$*" "$rc" "$(($(date +%s) - start))"
        tail -n 40 "$log"
        printf '```\n'
    } >>"$report"
}

skip() { # NAME REASON
    echo "== $1: SKIP ($2)"
    section "$1: SKIP"
    echo "$2" >>"$report"
}

{
    echo "# fusedopt GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo
    echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo
    echo '## Machine and versions'
    echo
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,clocks.max.mem --format=csv 2>&1
    nvidia-smi 2>&1 | head -n 15
    nvcc --version 2>&1 | tail -n 2
    echo "compute-sanitizer: ${sanitizer:-not found} $([ -n "$sanitizer" ] && "$sanitizer" --version 2>&1 | tail -n 1)"
    cmake --version 2>&1 | head -n 1
    ${CC:-cc} --version 2>&1 | head -n 1
    echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
    echo '```'
} >"$report"

# The GPU's own architecture only: a third of the nvcc work of the default list.
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
arch_flag=()
[ -n "$arch" ] && arch_flag=(-DCMAKE_CUDA_ARCHITECTURES="$arch")

# Without a visible GPU the gpu tests would all skip and pass.
step "GPU visible" 30 nvidia-smi -L
gtest_flag=()
[ -f "$root/.deps/googletest/CMakeLists.txt" ] && gtest_flag=(-DFOPT_GTEST_SOURCE_DIR="$root/.deps/googletest")
rm -rf "$build"
configure=(cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOPT_BUILD_EMU=OFF "${arch_flag[@]}")
step "configure" 60 "${configure[@]}" "${gtest_flag[@]}"
if [ "$last_rc" -ne 0 ]; then
    rm -rf "$build"
    step "configure without tests (no GoogleTest: run scripts/gpu-deps.sh and carry .deps)" 60 \
        "${configure[@]}" -DFOPT_BUILD_TESTS=OFF
fi
step "build" 150 cmake --build "$build" -j "$jobs"
# --no-tests=error: a build without the CUDA backend has no gpu tests and must not pass.
step "ctest -L gpu" 90 ctest --test-dir "$build" -L gpu --no-tests=error --output-on-failure --timeout 60 -j 4

cli="$build/fusedopt"
step "fusedopt selftest" 30 "$cli" selftest --backend cuda
if [ -x "$cli" ] && "$cli" --help 2>/dev/null | grep -qE '^ +bench '; then
    step "fusedopt bench --quick" 60 "$cli" bench --quick --device gpu --out "${report%.md}-bench"
else
    skip "fusedopt bench" "the fusedopt CLI was not built or has no bench command"
    failed=$((failed + 1))
fi

tests="$build/tests/fusedopt_gpu_tests"
if [ -z "$sanitizer" ]; then
    skip "compute-sanitizer" "compute-sanitizer not found"
    failed=$((failed + 1))
elif [ ! -x "$tests" ]; then
    skip "compute-sanitizer" "$tests was not built"
    failed=$((failed + 1))
else
    # memcheck: every test but the 1M-element one and the parameter-group
    # cases (the same kernels and chunk walk as DeviceStep's; memcheck is ~50x
    # slower; no leak check: the test binary keeps its context to exit);
    # racecheck: the shared-memory handoff of every kernel variant.
    step "compute-sanitizer memcheck" 90 "$sanitizer" --tool memcheck --error-exitcode 1 \
        "$tests" --gtest_filter='-DeviceStepLarge.*:Cases/DeviceParameterGroups.*'
    step "compute-sanitizer racecheck" 45 "$sanitizer" --tool racecheck --error-exitcode 1 \
        "$tests" --gtest_filter='AllConfigs/DeviceStep.SizesMatchReference/*:DeviceGraph.*'
fi

section "Summary"
if [ "$failed" -eq 0 ]; then
    echo "All steps passed." | tee -a "$report"
else
    echo "$failed step(s) failed." | tee -a "$report"
fi
echo "report: $report"
[ "$failed" -eq 0 ]
