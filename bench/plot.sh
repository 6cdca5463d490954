#!/bin/sh
# Turns gt-bench's JSON into a PNG: time ratio to `plain` per mode, one
# cluster per workload, log scale (ordered finalizers are ~100x).
#   bench/plot.sh [results.json] [out.png]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
json=${1:-$root/bench/out/results.json}
png=${2:-$root/docs/benchmarks.png}
mkdir -p "$(dirname "$png")"
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT

# rows: modes; columns: workloads with ratios ("?" when missing)
jq -r '
  [.summary[] | select(.ratio_plain != null)] as $s
  | ($s | map(.workload) | unique) as $ws
  | (["mode"] + $ws | join(" ")),
    ($s | map(.mode) | reduce .[] as $m ([]; if index([$m]) then . else . + [$m] end)
     | .[] as $m
     | ([$m] + [$ws[] as $w
                | ($s[] | select(.workload == $w and .mode == $m) | .ratio_plain
                   | tostring) // "?"]
        | join(" ")))
' "$json" >"$dat"
title=$(jq -r '"gt-bench: time / plain GC_MALLOC (median of paired ratios, " +
  (.params.reps|tostring) + " reps), " + (.machine.nproc|tostring) + " cores " +
  (.machine.cpu // "") + ", bdwgc " + (.machine.bdwgc // "") + ", " +
  (.machine.date // "")' "$json")
ncol=$(head -1 "$dat" | wc -w)

gnuplot <<GP
set terminal pngcairo size 1200,640 font "DejaVu Sans,10"
set output "$png"
set termoption noenhanced
set title "$title"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [0.5:*]
set ytics (0.5, 1, 1.3, 2, 5, 10, 20, 50, 100, 200, 500)
set grid ytics
set ylabel "wall time ratio to plain (log)"
set key outside right top vertical
set xtics rotate by -30
plot for [i=2:$ncol] "$dat" using i:xtic(1) title columnhead(i), \
     1.3 with lines dt 2 lc rgb "black" title "gt target 1.3x"
GP
echo "wrote $png"
