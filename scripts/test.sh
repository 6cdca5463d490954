#!/usr/bin/env bash
# Builds and runs every test: a -Werror build, an ASan+UBSan build and a
# TSan build (the TSan one runs the Criterion-free tests: the stress test
# and the torture cases that keep collections in one thread; Criterion
# cannot start under TSan, and bdwgc's stop-the-world signals cannot work
# there), valgrind on the integration tests, and a short fuzzing run. Each
# configuration runs the torture suite too (ctest label "torture"). After
# the release build, README's program is built against the installed
# library, as a user would (tests/consumer/run.sh).
# Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
gt_need_packages "${GT_BUILD_PACKAGES[@]}" "${GT_TEST_PACKAGES[@]}"
jobs=$(nproc)
passed=0 # test executables and checks that passed, for the closing line

run() { # name, cmake options...
  local name=$1; shift
  echo "=== $name"
  cmake -S . -B "build/$name" -DGT_WERROR=ON -DGT_BUILD_BENCH=OFF "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs" >/dev/null
  (cd "build/$name" && ctest -j"$jobs" --output-on-failure --timeout 300) |
    tee "build/$name.ctest.log"
  local n
  n=$(sed -n 's/.* tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' \
    "build/$name.ctest.log")
  passed=$((passed + ${n:-0}))
}

# The release build also runs the benchmark smoke test (ctest bench_smoke).
run release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGT_BUILD_BENCH=ON
echo "=== layout: no cycles, layers in order, gc.h only in src/gc, sizes"
python3 scripts/check-layout.py build/release
passed=$((passed + 1))
echo "=== consumer: README's program against the installed gt (-Werror)"
bash tests/consumer/run.sh build/release
passed=$((passed + 3)) # pkg-config, find_package(gt), the log-only build
echo "=== demo: README's first command (the text log; --json on request)"
demo_check() { # file of the demo's output, what must be there
  grep -q "$2" "$1" || { cat "$1"; echo "demo: no '$2'"; exit 1; }
}
bash scripts/demo.sh >build/demo.log 2>&1
demo_check build/demo.log \
  '^[0-9T:-]*Z gt: The object with name Thing One is being removed from memory!$'
! grep -q '^{"batch"' build/demo.log || { echo "demo: JSON by default"; exit 1; }
tail -n1 build/demo.log >build/demo.last
demo_check build/demo.last 'GT_BACKEND=sms .*GT_SMS_API_KEY=.*GT_BACKEND=email'
bash scripts/demo.sh --json >build/demo.log 2>&1
demo_check build/demo.log '^{"batch":1,"collected":1,'
echo "demo: text by default, JSON with --json, ends with the SMS and email keys"
passed=$((passed + 1))
# bdwgc's memory is not malloc'd, so LeakSanitizer has nothing to say
# about it; our own allocations are checked.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run asan -DCMAKE_BUILD_TYPE=Debug -DGT_SANITIZE=ON
run tsan -DCMAKE_BUILD_TYPE=Debug -DGT_TSAN=ON

echo "=== valgrind (memcheck) on the demo and the integration tests"
# Only errors inside libgc are suppressed: reading never-written memory is
# what a conservative scan does (tests/valgrind.supp).
vg=(valgrind -q --error-exitcode=99 --trace-children=yes --leak-check=no
    --suppressions=tests/valgrind.supp)
"${vg[@]}" build/release/garbage_texts >/dev/null 2>&1 ||
  { echo "valgrind: the demo failed"; exit 1; }
passed=$((passed + 1))
for t in integration_test_collect integration_test_threads integration_test_leak \
         integration_test_leak_threads integration_test_age integration_test_redirect \
         stress; do
  # A Criterion test runs in a forked child whose exit status Criterion
  # does not pass on: any memcheck line (-q prints errors only) fails too.
  { "${vg[@]}" "build/release/tests/$t" >/tmp/gt-vg-$t.log 2>&1 &&
    ! grep -q '^==[0-9]*==' /tmp/gt-vg-$t.log; } ||
    { cat /tmp/gt-vg-$t.log; echo "valgrind: $t failed"; exit 1; }
  echo "valgrind: $t clean"
  passed=$((passed + 1))
done
# A plain program, too: building, gzipping and writing a death profile. gt_malloc sites only:
# libunwind's stack walk probes addresses by write(2), which memcheck
# reports.
vgp=$(mktemp -d /tmp/gt-vg-profile-XXXXXX)
GT_PROFILE="$vgp/p.pb.gz" GT_LOG_PATH="$vgp/log" GT_SPOOL_DIR="$vgp/spool" \
  "${vg[@]}" build/release/tests/profile/profile_workload >"$vgp/out" 2>&1 &&
  [ -s "$vgp/p.pb.gz" ] ||
  { cat "$vgp/out"; echo "valgrind: the profile workload failed"; exit 1; }
rm -rf "$vgp"
echo "valgrind: profile_workload clean"
passed=$((passed + 1))
# gt report on the fuzz corpus: real, truncated and garbage logs.
"${vg[@]}" build/release/gt report fuzz/corpus/report/* >/dev/null 2>&1 ||
  { echo "valgrind: gt report failed"; exit 1; }
echo "valgrind: gt report clean"
passed=$((passed + 1))
echo "=== fuzz (corpus replay, then 10 s per target)"
bash fuzz/run.sh 10
passed=$((passed + 5)) # the five fuzz targets
echo "all configurations passed"
echo "$passed passed, 0 failed"
