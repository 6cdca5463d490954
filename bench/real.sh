#!/usr/bin/env bash
# The `real` workload: a program nobody here wrote, run plain and under
# `gt run` (issue 11's targets). w3m -dump of a generated page (default
# 3 MB: sections, tables, lists, links, entities) is timed in each mode,
# the modes interleaved and their order rotated every round; each mode's
# output must be byte-identical to the plain run's. Prints the median wall
# time per mode and its ratio to plain (the median of the rounds' own
# ratios), and writes bench/out/real.json.
#
#   bench/real.sh                  # 7 rounds, 3 MB page
#   bench/real.sh --reps 3 --mb 1  # quicker
#
# Modes (one table: name, then gt run's options; "plain" runs w3m alone):
#   default   gt run as shipped
#   stacks    4-frame stacks on every allocation
#   sampled   4-frame stacks, captured for 1 in 64 allocations
#   return    the return address only (no unwinding)
#   objects16 one allocation in 16 tracked (gt.alloc_sample_every), the
#             others left to bdwgc and only counted
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=7
mb=3
while [ $# -gt 0 ]; do
  case $1 in
  --reps) reps=$2; shift 2 ;;
  --mb) mb=$2; shift 2 ;;
  *) echo "usage: bench/real.sh [--reps N] [--mb MB]" >&2; exit 2 ;;
  esac
done
bash -c '. "$1/scripts/deps.sh" && gt_need_packages "${GT_BUILD_PACKAGES[@]}" \
  "${GT_BENCH_PACKAGES[@]}" w3m' \
  _ "$root"
build=${GT_BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DGT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target gt_tool gt_attach gt_attach_core >/dev/null

modes=(plain default stacks sampled return objects16)
declare -A opts=(
  [plain]=""
  [default]=""
  [stacks]="-o gt.stack_depth=4 -o gt.stack_sample_every=1"
  [sampled]="-o gt.stack_depth=4 -o gt.stack_sample_every=64"
  [return]="-o gt.stack_depth=1"
  [objects16]="-o gt.alloc_sample_every=16"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A deterministic page of about $mb MB.
awk -v bytes=$((mb * 1000000)) 'BEGIN {
  split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w)
  print "<html><head><title>Large page</title></head><body>"; n = 60; s = 1
  for (i = 1; n < bytes; i++) {
    line = "<h2 id=s" i ">Section " i " &amp; more</h2><p>"
    for (j = 0; j < 60; j++) { s = (s * 1103515245 + 12345) % 2147483648
      line = line w[s % 12 + 1] " " }
    line = line "<a href=\"#s" i "\">link " i "</a> &lt;x&gt;</p><table border=1>"
    for (r = 0; r < 6; r++) { line = line "<tr>"
      for (c = 0; c < 5; c++) line = line "<td>" w[(r * c + i) % 12 + 1] " " r * c "</td>"
      line = line "</tr>" }
    line = line "</table><ul>"
    for (k = 0; k < 8; k++) line = line "<li><b>" w[(k + i) % 12 + 1] "</b> <i>" w[k % 12 + 1] "</i></li>"
    print line "</ul>"; n += length(line) + 1 }
  print "</body></html>" }' >"$work/page.html"

run() { # mode -> wall seconds on stdout; output in $work/out.<mode>
  local mode=$1 t0 t1
  t0=$EPOCHREALTIME
  if [ "$mode" = plain ]; then
    w3m -dump "$work/page.html" >"$work/out.$mode"
  else
    # shellcheck disable=SC2086
    "$build/gt" run -q -o log.path="$work/log.jsonl" \
      -o gt.profile="$work/profile.pb.gz" ${opts[$mode]} -- \
      w3m -dump "$work/page.html" >"$work/out.$mode"
  fi
  t1=$EPOCHREALTIME
  echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }'
}

declare -A times
n=${#modes[@]}
for ((r = 0; r < reps; r++)); do
  for ((k = 0; k < n; k++)); do # order rotated every round
    m=${modes[$(((k + r) % n))]}
    times[$m]+="$(run "$m") "
    rm -f "$work/log.jsonl"
    # round 0 runs plain first, so every mode is compared with it
    cmp -s "$work/out.plain" "$work/out.$m" ||
      { echo "real: $m's output differs from plain w3m's" >&2; exit 1; }
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END {
  print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
plain=$(echo "${times[plain]}" | median)
mkdir -p "$root/bench/out"
printf '%-9s %10s %8s   (w3m -dump of a %s MB page, median of %s rounds, interleaved; ratio: median of the rounds'"'"' ratios)\n' \
  mode wall_s ratio "$mb" "$reps"
# The ratio is the median of the rounds' own ratios (mode / plain in the
# same round): on a shared machine whose speed drifts during the run, that
# is what survives.
paired() { # mode -> median of its per-round ratios to plain
  paste -d' ' <(echo "${times[$1]}" | xargs -n1) \
    <(echo "${times[plain]}" | xargs -n1) |
    awk '{ printf "%.4f\n", $1 / $2 }' | median
}
for m in "${modes[@]}"; do
  med=$(echo "${times[$m]}" | median)
  ratio=$(awk -v r="$(paired "$m")" 'BEGIN { printf "%.2f", r }')
  printf '%-9s %10s %7sx   %s\n' "$m" "$med" "$ratio" "${opts[$m]}"
  jq -n --arg m "$m" --arg o "${opts[$m]}" --argjson med "$med" \
    --argjson ratio "$ratio" \
    --argjson t "[$(echo "${times[$m]}" | xargs | tr ' ' ',')]" \
    '{($m): {options: $o, median_s: $med, ratio: $ratio, times_s: $t}}' \
    >>"$work/modes.json"
done
jq -s --argjson mb "$mb" --argjson reps "$reps" \
  '{workload: "real", program: "w3m -dump", page_mb: $mb, reps: $reps,
    modes: add}' "$work/modes.json" >"$root/bench/out/real.json"
