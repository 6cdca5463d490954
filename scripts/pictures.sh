#!/usr/bin/env bash
# Makes the pictures the README and docs show again: w3m's death profile
# under gt run drawn by pprof (docs/img/w3m-deaths.png), and prints the
# gt report tables of the demo and of that run, to paste where they are
# shown (README.md, docs/report.md). Builds gt in build/pictures.
#
#   bash scripts/pictures.sh [PAGE]   # default: w3m's own MANUAL.html
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash -c '. "$1/scripts/deps.sh" && gt_need_packages "${GT_BUILD_PACKAGES[@]}" \
  w3m golang-go graphviz' _ "$root"
build=$root/build/pictures
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target gt_tool gt_attach \
  gt_attach_core garbage_texts >/dev/null
page=${1:-/usr/share/doc/w3m/MANUAL.html}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$build/gt" run -q -- w3m -dump "$page" >/dev/null
profile=$(ls gt-run.w3m.*.pb.gz)
mkdir -p "$root/docs/img"
go tool pprof -png -nodecount=25 "$profile" >"$root/docs/img/w3m-deaths.png" \
  2>/dev/null
echo "wrote docs/img/w3m-deaths.png from $profile"
GT_BACKEND=log GT_LOG_FORMAT=json GT_LOG_PATH="$work/demo.jsonl" \
  "$build/garbage_texts" >/dev/null
echo "--- gt report demo.jsonl"
"$build/gt" report demo.jsonl
echo "--- gt report --top 8 gt-run.w3m.PID.jsonl"
"$build/gt" report --top 8 gt-run.w3m.*.jsonl
