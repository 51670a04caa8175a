#!/usr/bin/env bash
# Compile checks for the CUDA kernels, for machines without a GPU (CI).
#
# For every kernels/*.cu and every architecture in ARCHS (default "80 90"):
#   - compiles with nvcc, -Xptxas -warn-spills,-warn-lmem-usage, and fails on
#     any ptxas spill or local-memory warning (or any compile error);
#   - for the update kernels (sgd.cu, adam.cu, adagrad.cu, rmsprop.cu), checks that the PTX of the
#     vectorized path has 128-bit global loads (ld.global[.nc].v4.f32) and
#     stores (st.global.v4.f32) for fp32 arrays, and 64-bit ones for 16-bit
#     parameters and gradients (ld.global[.nc].v4.u16 or .v2.u32, st.global.v4.u16).
# Prints one line per check; exits 1 if any failed.
#
# Usage: scripts/check-kernels.sh        (NVCC and ARCHS may be set in the environment)
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
nvcc=${NVCC:-nvcc}
archs=${ARCHS:-"80 90"}
vectorized="sgd.cu adam.cu adagrad.cu rmsprop.cu"
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

# check_vector_access LABEL PTX LOAD_RE STORE_RE WHAT: PASS when the PTX has
# at least one load matching LOAD_RE and one store matching STORE_RE.
check_vector_access() {
    local loads stores
    loads=$(grep -cE "$3" "$2")
    stores=$(grep -cE "$4" "$2")
    if [ "$loads" -gt 0 ] && [ "$stores" -gt 0 ]; then
        report PASS "$1: PTX has $loads $5 loads and $stores stores"
    else
        report FAIL "$1: PTX has $loads $5 loads and $stores stores (want both > 0)"
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
        check_vector_access "$name sm_$arch" "$ptx" 'ld\.global(\.nc)?\.v4\.f32' 'st\.global\.v4\.f32' \
            "128-bit fp32"
        check_vector_access "$name sm_$arch" "$ptx" 'ld\.global(\.nc)?\.(v4\.u16|v2\.u32)' 'st\.global\.v4\.u16' \
            "64-bit 16-bit-element"
    done
done

if [ "$failures" -gt 0 ]; then
    echo "check-kernels: $failures check(s) FAILED"
    exit 1
fi
echo "check-kernels: all checks passed"
