#!/usr/bin/env bash
# Builds and runs every test: a -Werror build, an ASan+UBSan build and a
# TSan build (the TSan one runs the Criterion-free stress test: Criterion
# cannot start under TSan, and bdwgc's stop-the-world signals cannot work
# there). Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
gt_need_packages "${GT_BUILD_PACKAGES[@]}" "${GT_TEST_PACKAGES[@]}"
jobs=$(nproc)

run() { # name, cmake options...
  local name=$1; shift
  echo "=== $name"
  cmake -S . -B "build/$name" -DGT_WERROR=ON -DGT_BUILD_BENCH=OFF "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs" >/dev/null
  (cd "build/$name" && ctest -j"$jobs" --output-on-failure --timeout 300)
}

run release -DCMAKE_BUILD_TYPE=RelWithDebInfo
# bdwgc's memory is not malloc'd, so LeakSanitizer has nothing to say
# about it; our own allocations are checked.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run asan -DCMAKE_BUILD_TYPE=Debug -DGT_SANITIZE=ON
run tsan -DCMAKE_BUILD_TYPE=Debug -DGT_TSAN=ON
echo "=== fuzz (corpus replay, then 10 s per target)"
bash fuzz/run.sh 10
echo "all configurations passed"
