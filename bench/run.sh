#!/bin/sh
# One command for the benchmark: builds gt-bench in Release (-O2), runs every
# workload under every mode (interleaved, medians of --reps), prints the
# table, writes bench/out/results.json and docs/benchmarks.png.
#
#   bench/run.sh                 # full run (~10 min on 2 cores)
#   bench/run.sh --workloads e2e # e2e alone (~10 s): objects -> SMS backend
#                                # -> a loopback TLS mock of Infobip
#
# e2e (in the default list) needs /usr/bin/python3 and openssl: gt-bench
# makes a throw-away PKI, starts tests/servers/infobip_mock.py on 127.0.0.1
# and stops it at the end; without them it prints "e2e SKIPPED" and goes on.
#   bench/run.sh --quick --reps 1  # seconds; any gt-bench option passes through
#
# GT_BENCH_BUILD overrides the build directory (default build-bench/).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
# Missing Debian packages (compiler, libraries, gnuplot, jq) are installed.
bash -c '. "$1/scripts/deps.sh" && gt_need_packages "${GT_BUILD_PACKAGES[@]}" \
  "${GT_BENCH_PACKAGES[@]}"' _ "$root"
build=${GT_BENCH_BUILD:-$root/build-bench}
out=$root/bench/out
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DGT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target gt_bench
mkdir -p "$out"
status=0
"$build/bench/gt-bench" --json "$out/results.json" "$@" | tee "$out/table.txt" ||
  status=$?
"$root/bench/plot.sh" "$out/results.json" "$root/docs/benchmarks.png"
exit $status
