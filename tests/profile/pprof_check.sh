#!/usr/bin/env bash
# pprof itself reads gt's death profiles (docs/profiles.md): `go tool
# pprof -top` and `-svg` succeed, -top names the sites, and the totals it
# prints equal gt's own. Go's pprof is the reference reader; without it
# this check fails (CI installs golang-go and graphviz, scripts/deps.sh).
#
#   pprof_check.sh workload WORKLOAD   known sites (workload.c), gt_malloc
#                                      sites, one in 10 tracked, then
#                                      4-frame stacks
#   pprof_check.sh w3m GT              gt run -- w3m -dump MANUAL.html
set -euo pipefail
mode=$1 prog=$2
fail() { echo "pprof check ($mode): $*" >&2; exit 1; }

command -v go >/dev/null ||
  fail "'go' is missing: install golang-go (scripts/deps.sh has it)"
command -v dot >/dev/null ||
  fail "'dot' is missing (pprof -svg needs it): install graphviz"
tmp=$(mktemp -d /tmp/gt-pprof-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# pprof writes a cache and settings under HOME; nothing may go to the
# network (no module downloads, no toolchain switch).
export HOME="$tmp/home" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath"
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS='' GOTELEMETRY=off
export PPROF_TMPDIR="$tmp" PPROF_BINARY_PATH="$tmp/none"
mkdir -p "$HOME"

pprof() { # output file, pprof arguments...
  local out=$1
  shift
  go tool pprof "$@" >"$out" 2>"$out.err" ||
    fail "go tool pprof $* failed: $(cat "$out.err")"
}

# "Showing nodes accounting for X, Y% of Z total": Z, as pprof prints it.
total() { # profile, sample index
  pprof "$tmp/top" -top -unit=B -sample_index="$2" "$1"
  sed -n 's/^Showing nodes accounting for .* of \([0-9.]*\)B* total$/\1/p' \
    "$tmp/top"
}

expect_total() { # profile, sample index, expected
  local got
  got=$(total "$1" "$2")
  [ "$got" = "$3" ] ||
    fail "$2: pprof's total is '${got}', gt counted $3: $(head -8 "$tmp/top")"
  echo "pprof check ($mode): $2 total $got, as gt counted"
}

expect_top() { # profile, pattern -top must show, pprof options...
  pprof "$tmp/top" -top "${@:3}" "$1"
  grep -q -- "$2" "$tmp/top" || fail "-top shows no '$2': $(cat "$tmp/top")"
}

expect_svg() { # profile
  pprof "$tmp/x.svg" -svg "$1"
  grep -q '<svg' "$tmp/x.svg" || fail "-svg wrote no SVG"
  echo "pprof check ($mode): -top and -svg read $(basename "$1")"
}

stat_of() { # "collected=1 bytes=2 ..." line, field
  sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"
}

workload() { # name, extra environment...; the profile in $p
  local line
  p="$tmp/$1.pb.gz"
  line=$(env GT_PROFILE="$p" GT_LOG_PATH="$tmp/log" \
    GT_SPOOL_DIR="$tmp/spool" "${@:2}" "$prog") ||
    fail "$prog failed"
  [ -s "$p" ] || fail "$1: no profile written"
  expect_svg "$p"
  expect_total "$p" reclaimed_objects "$(stat_of "$line" collected)"
  expect_total "$p" reclaimed_space "$(stat_of "$line" bytes)"
  expect_total "$p" freed_objects "$(stat_of "$line" freed)"
  expect_total "$p" live_objects "$(stat_of "$line" live)"
  expect_total "$p" unreleased_objects "$(stat_of "$line" unreleased)"
}

case $mode in
workload)
  workload sites
  expect_top "$p" ' 5000 .* Dropped$'
  expect_top "$p" ' 300 .* Kept$' -sample_index=live_objects
  expect_top "$p" ' 70 .* Freed$' -sample_index=freed_objects
  expect_top "$p" ' 40 .* Leaked$' -sample_index=unreleased_objects
  # one allocation in 10 tracked: the values are the tracked objects,
  # as gt's statistics count them
  workload sampled GT_ALLOC_SAMPLE_EVERY=10
  expect_top "$p" ' 500 .* Dropped$'
  workload stacks GT_STACK_DEPTH=4
  # flat (the first column) is the allocating frame's: the leaf
  expect_top "$p" '^ *5000 .* workload_leaf$'
  expect_top "$p" '^ *0 .* 5000 .* workload_middle$'
  expect_top "$p" ' workload_leaf$' -sample_index=live_objects
  pprof "$tmp/tags" -tags "$p" # the object names, as labels
  grep -q 'Dropped' "$tmp/tags" || fail "no name label: $(cat "$tmp/tags")"
  echo "pprof check (workload): Dropped, Kept, Freed, Leaked, workload_leaf and" \
    "workload_middle shown"
  ;;
w3m)
  page=/usr/share/doc/w3m/MANUAL.html
  command -v w3m >/dev/null || fail "w3m is missing: install w3m"
  [ -r "$page" ] || fail "$page is missing (package w3m)"
  cd "$tmp"
  "$prog" run -- w3m -dump "$page" >out 2>err || fail "gt run: $(cat err)"
  # "gt run: w3m (pid N): T objects allocated through bdwgc, R reclaimed
  # (...), F freed, L live at exit; ..."
  first=$(head -n1 err)
  num() {
    sed -n "s/.*[^0-9,]\\([0-9,][0-9,]*\\) $1.*/\\1/p" <<<"$first" | tr -d ,
  }
  reclaimed=$(num reclaimed) freed=$(num freed) live=$(num "live at exit")
  [[ $reclaimed =~ ^[0-9]+$ && $reclaimed -gt 1000 ]] ||
    fail "no summary line: $first"
  p=$(sed -n 's/^gt run: profile in //p' err)
  [[ -n $p && -s $p ]] || fail "no 'gt run: profile in' line: $(cat err)"
  case $p in "$tmp"/gt-run.w3m.*.pb.gz) ;; *) fail "profile at $p" ;; esac
  expect_svg "$p"
  expect_top "$p" 'w3m!'
  expect_total "$p" reclaimed_objects "$reclaimed"
  expect_total "$p" freed_objects "$freed"
  expect_total "$p" live_objects "$live"
  # The summary gives bytes in MB; gt's event log (one JSON line per
  # batch, then the exit line) has them exactly, and the objects once more.
  log=$(sed -n 's/^gt run: events in //p' err)
  [[ -n $log && -s $log ]] || fail "no 'gt run: events in' line: $(cat err)"
  read -r logged logged_bytes < <(python3 -c '
import json, sys
rs = [r for r in map(json.loads, open(sys.argv[1])) if "batch" in r]
print(sum(r["collected"] for r in rs), sum(r["bytes"] for r in rs))' "$log")
  [ "$logged" = "$reclaimed" ] ||
    fail "the log counts $logged objects, the summary $reclaimed"
  expect_total "$p" reclaimed_space "$logged_bytes"
  pprof "$tmp/top" -top "$p"
  echo "pprof check (w3m): w3m's sites shown; -top begins:"
  head -n 12 "$tmp/top"
  ;;
*) fail "unknown mode" ;;
esac
echo "pprof check ($mode): passed"
