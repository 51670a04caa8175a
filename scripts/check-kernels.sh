#!/usr/bin/env bash
# Compile checks for the CUDA kernels, for machines without a GPU (CI).
#
# For every kernels/*.cu and every architecture in ARCHS (default "80 90"):
#   - compiles with nvcc, -Xptxas -warn-spills,-warn-lmem-usage, and fails on
#     any ptxas spill or local-memory warning (or any compile error);
#   - for the update kernels (sgd.cu, adam.cu), checks that the PTX of the
#     vectorized path has 128-bit global loads (ld.global[.nc].v4.f32) and
#     stores (st.global.v4.f32).
# Prints one line per check; exits 1 if any failed.
#
# Usage: scripts/check-kernels.sh        (NVCC and ARCHS may be set in the environment)
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
nvcc=${NVCC:-nvcc}
archs=${ARCHS:-"80 90"}
vectorized="sgd.cu adam.cu"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

if ! command -v "$nvcc" >/dev/null 2>&1; then
    echo "FAIL nvcc not found (set NVCC)"
    exit 1
fi
echo "nvcc: $("$nvcc" --version | tail -n 1)"

report() { # status description [details file]
    echo "$1 $2"
    if [ "$1" = FAIL ]; then
        failures=$((failures + 1))
        if [ $# -ge 3 ]; then sed 's/^/    /' "$3"; fi
    fi
}

for cu in "$root"/kernels/*.cu; do
    name=$(basename "$cu")
    for arch in $archs; do
        log="$work/$name.$arch.log"
        ptx="$work/$name.$arch.ptx"
        flags=(-std=c++17 -O3 -arch=sm_"$arch" -I"$root/include" -I"$root/kernels")
        if ! "$nvcc" "${flags[@]}" -Xptxas -warn-spills,-warn-lmem-usage -c "$cu" -o "$work/$name.o" >"$log" 2>&1; then
            report FAIL "$name sm_$arch: compile" "$log"
            continue
        fi
        if grep -Eiq "spill|local memory|lmem" "$log"; then
            report FAIL "$name sm_$arch: ptxas spill / local memory warning" "$log"
        else
            report PASS "$name sm_$arch: compiles, no spills, no local memory"
        fi
        case " $vectorized " in *" $name "*) ;; *) continue ;; esac
        if ! "$nvcc" "${flags[@]}" -ptx "$cu" -o "$ptx" >"$log" 2>&1; then
            report FAIL "$name sm_$arch: PTX" "$log"
            continue
        fi
        loads=$(grep -cE 'ld\.global(\.nc)?\.v4\.f32' "$ptx")
        stores=$(grep -cE 'st\.global\.v4\.f32' "$ptx")
        if [ "$loads" -gt 0 ] && [ "$stores" -gt 0 ]; then
            report PASS "$name sm_$arch: PTX has $loads ld.global.v4.f32 and $stores st.global.v4.f32"
        else
            report FAIL "$name sm_$arch: PTX has $loads ld.global.v4.f32 and $stores st.global.v4.f32 (want both > 0)"
        fi
    done
done

if [ "$failures" -gt 0 ]; then
    echo "check-kernels: $failures check(s) FAILED"
    exit 1
fi
echo "check-kernels: all checks passed"
