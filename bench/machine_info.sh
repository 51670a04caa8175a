#!/bin/sh
# Prints the machine details that go with a benchmark run:
#   bench/machine_info.sh BUILD_DIR > bench/results/<run>/machine.txt
build=${1:-build}
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src kernels bench ':!bench/results' 2>/dev/null || echo ' (+local changes)')"
echo "kernel: $(uname -sr)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo
echo "== lscpu (summary)"
lscpu 2>/dev/null | grep -E '^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket|NUMA node\(s\)|L1d|L2|L3|Hypervisor|Flags)' |
    sed -E 's/^(Flags:[[:space:]]+).*/\1(avx2: '"$(grep -qw avx2 /proc/cpuinfo && echo yes || echo no)"', avx512f: '"$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"')/'
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "transparent hugepages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
echo
echo "== compilers and flags"
echo "cc: $(${CC:-cc} --version | head -1)"
if [ -f "$build/CMakeCache.txt" ]; then
    grep -E '^(CMAKE_BUILD_TYPE|CMAKE_C_COMPILER|CMAKE_C_FLAGS_RELEASE|CMAKE_CUDA_ARCHITECTURES|FOPT_HAVE_CUDA|FOPT_ENABLE_CUDA)[:=]' "$build/CMakeCache.txt"
fi
echo "CPU backend loops (src/cpu_kernels.c) and bench loops: -O3 -fno-math-errno on top of the build type's flags,"
echo "  target_clones default / x86-64-v3 / x86-64-v4 (chosen at load time)"
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    echo "nvcc: $( (command -v nvcc >/dev/null && nvcc --version || /usr/local/cuda/bin/nvcc --version) | tail -2 | head -1)"
fi
if command -v nvidia-smi >/dev/null 2>&1; then
    echo
    echo "== GPU"
    nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
fi
