#!/usr/bin/env bash
# Uses gt the way README tells a new user to, from outside the project:
# installs a built gt to a temporary prefix, builds README's program
# (readme.c, compared with README first) with -Wall -Wextra -Werror through
# pkg-config and through CMake's find_package(gt) -> gt::gt, and runs both.
# Then builds the library with only the log backend (-DGT_BACKENDS=log) and
# checks that gt_init refuses another backend with GT_EBACKEND (log_only.c)
# and says that GT_SMS_* variables belong to a backend left out.
#
#   bash tests/consumer/run.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
here=tests/consumer
tmp=$(mktemp -d /tmp/gt-consumer-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "consumer: $*" >&2; exit 1; }

# README's C block is the program, byte for byte.
sed -n '/^```c$/,/^```$/p' README.md | sed '1d;$d' >"$tmp/readme-block.c"
sed -n '/^\/\/ clang-format off$/,/^\/\/ clang-format on$/p' "$here/readme.c" |
  sed '1d;$d' >"$tmp/readme-file.c"
diff -u "$tmp/readme-block.c" "$tmp/readme-file.c" >&2 ||
  fail "tests/consumer/readme.c differs from README's example"

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cflags=(-Wall -Wextra -Werror)
# A clean environment: no GT_* of the caller's, a spool under $tmp.
run_clean() {
  env -i PATH="$PATH" HOME="$tmp/home" XDG_STATE_HOME="$tmp/state" "$@"
}
check_readme() { # how it was built, program
  run_clean "$2" >"$tmp/out" 2>"$tmp/err" ||
    fail "$1: exit status $? ($(cat "$tmp/err"))"
  grep -qx '1 collected' "$tmp/out" || fail "$1: stdout: $(cat "$tmp/out")"
  grep -q 'The object with name Node is being removed from memory!' \
    "$tmp/err" || fail "$1: stderr: $(cat "$tmp/err")"
  echo "consumer: README's program through $1: built with ${cflags[*]}, ran"
}

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config output is meant to be split
cc "${cflags[@]}" "$here/readme.c" -o "$tmp/readme-pc" \
  $(pkg-config --cflags --libs gt) -Wl,-rpath,"$tmp/prefix/lib"
check_readme pkg-config "$tmp/readme-pc"

cmake -S "$here" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
check_readme "find_package(gt)" "$tmp/cmake-build/readme"

# Only the log backend built in.
cmake -S . -B "$tmp/log-only" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGT_WERROR=ON -DGT_BUILD_TESTS=OFF -DGT_BUILD_BENCH=OFF \
  -DGT_BACKENDS=log >/dev/null
cmake --build "$tmp/log-only" -j"$(nproc)" >/dev/null
cmake --install "$tmp/log-only" --prefix "$tmp/log-prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/log-prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc "${cflags[@]}" "$here/log_only.c" -o "$tmp/log-only-prog" \
  $(pkg-config --cflags --libs gt) -Wl,-rpath,"$tmp/log-prefix/lib"
# A variable of a backend left out is named as such, not as a typo.
out=$(run_clean GT_SMS_TO=41793026727 "$tmp/log-only-prog" 2>"$tmp/err") ||
  fail "log-only: $out $(cat "$tmp/err")"
[ "$out" = ok ] || fail "log-only: $out $(cat "$tmp/err")"
grep -q 'GT_SMS_TO is ignored: the sms backend is not built into this libgt' \
  "$tmp/err" || fail "log-only: stderr: $(cat "$tmp/err")"
echo "consumer: -DGT_BACKENDS=log: log works, gt.backend=sms is GT_EBACKEND"
