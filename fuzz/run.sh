#!/usr/bin/env bash
# Builds the fuzz configuration (clang, -DGT_FUZZ=ON) and runs every target
# for N seconds (default 10) starting from its committed corpus. New inputs
# go to a temporary directory so the committed corpus does not churn; a
# crash, leak, timeout or failed invariant exits non-zero and leaves the
# reproducer in build/fuzz/artifacts/.
#
#   fuzz/run.sh [seconds] [target...]   targets: config render sms reply report
#
# Five targets at 10 s plus the build is about a minute on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config render sms reply report)

build=build/fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGT_FUZZ=ON -DGT_BUILD_TESTS=OFF -DGT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_all >/dev/null

artifacts=$build/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in "${targets[@]}"; do
  bin=$build/fuzz/fuzz_$t
  corpus=fuzz/corpus/$t
  [ -x "$bin" ] && [ -d "$corpus" ] || { echo "unknown target: $t" >&2; exit 2; }
  mkdir -p "$work/$t"
  echo "=== fuzz_$t (${secs}s)"
  # The first directory receives new inputs; the committed one is read only.
  # -jobs is not used: the machine's cores are shared.
  if ! "$bin" "$work/$t" "$corpus" -max_total_time="$secs" -timeout=5 \
      -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t-" -print_final_stats=1 \
      >"$work/$t.log" 2>&1; then
    status=1
    echo "fuzz_$t FAILED; log tail:" >&2
    tail -n 60 "$work/$t.log" >&2
    ls -1 "$artifacts/$t-"* 2>/dev/null >&2 || true
  else
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
      "$work/$t.log" || true
  fi
done
exit $status
