#!/usr/bin/env bash
# Builds libgt and runs the seed demo on the embedded log backend (JSON
# lines on stderr). No account, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
gt_need_packages "${GT_BUILD_PACKAGES[@]}"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGT_BUILD_TESTS=OFF \
  -DGT_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target garbage_texts >/dev/null
GT_BACKEND=log GT_LOG_FORMAT="${GT_LOG_FORMAT:-json}" ./build/demo/garbage_texts
