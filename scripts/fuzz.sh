#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) and runs
# each for SECONDS (default 30), starting from the committed seed corpora in
# tests/fuzz/corpus/<target>/ (new inputs go to a scratch copy). A crash or
# sanitizer report fails the script; the reproducer is left in build/fuzz/.
#   scripts/fuzz.sh           CI: 30 s per target
#   scripts/fuzz.sh 3600      the long run
# Needs clang and libclang-rt-dev (Debian: clang libclang-rt-14-dev).
set -euo pipefail
seconds=${1:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build/fuzz"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DFOPT_ENABLE_CUDA=OFF -DFOPT_BUILD_TESTS=OFF -DFOPT_BUILD_EXAMPLES=OFF -DFOPT_FUZZ=ON >/dev/null
cmake --build "$build" -j2 --target fuzz_checkpoint fuzz_cli_args >/dev/null
for target in fuzz_checkpoint fuzz_cli_args; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  cp "$top/tests/fuzz/corpus/$target"/* "$corpus/"
  echo "fuzz.sh: $target for ${seconds}s"
  (cd "$build" && "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -close_fd_mask=3 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15)
done
echo "fuzz.sh: no crashes"
