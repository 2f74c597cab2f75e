#!/usr/bin/env bash
# bench-cpu-pair.sh: the CPU per journey of two goldenpath binaries measured at once, to tell a
# change of a few percent from the machine's drift. bench-cpu-ab.sh runs binaries one after the
# other, and this machine's speed swings by up to 2x within minutes, so its run-by-run ratios spread
# by 10% or more. Here each run starts one reference backend (`serve --think 0`, its own process)
# and drives it with both binaries at the same time, USERS users each (default 25: 50 in all, the
# load of issue 11's figure), 10 s of minimal journeys (KIND=full for full ones); both see the same
# machine in the same seconds, and their ratio is taken run by run. The binary that starts first
# alternates from run to run (the first read about 1% cheaper in an A/A check).
#
# Prints, per run, each binary's journeys, failures and CPU per journey (its generator_cpu_us over
# its journeys), then the median ratio A/B over the runs with a 95% interval
# (scripts/ratio-interval.awk; 6 runs or more). An A/A run of one binary against a copy of itself
# shows the method's own spread (2026-12-08, 10 runs: 0.979 [0.953, 1.021], runs 0.941-1.026).
#
# Two clients share the backend, so each does about half the journeys a lone client would, with
# fewer frames per wake of its loops: the CPU per journey reads higher than bench-cpu-ab.sh's. Use
# the ratio, not the absolute figures.
#
# The backend is A's `serve` unless SERVER names another goldenpath binary: give a plain build
# there when A is a wrapper that sets something for the client (GOGC, say), which the backend would
# otherwise take too.
#
# Usage: [USERS=25] [KIND=minimal] [SERVER=goldenpath] scripts/bench-cpu-pair.sh RUNS A B
#        e.g. build two commits' cmd/goldenpath to /tmp/old and /tmp/new, then:
#        scripts/bench-cpu-pair.sh 10 /tmp/new /tmp/old
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { sed -n '2,26p' "$0"; exit 2; }
runs=$1
a=$2
b=$3
server="${SERVER:-$a}"
for x in "$a" "$b" "$server"; do
  [ -x "$x" ] || { echo "bench-cpu-pair.sh: $x is not an executable" >&2; exit 2; }
done
case "$runs" in '' | *[!0-9]*) echo "bench-cpu-pair.sh: RUNS must be a whole number, not $runs" >&2; exit 2 ;; esac
users="${USERS:-25}"
kind="${KIND:-minimal}"
out=bench-out/cpu-pair
rm -rf "$out"
mkdir -p "$out"
# serve-backend.sh wants $out/goldenpath: A serves, or SERVER.
ln -sf "$(realpath "$server")" "$out/goldenpath"
# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh
# fig DIR: "journeys N failed F cpu_us_per_journey C" of the run whose report is in DIR.
fig() {
  jq -r '.scenarios[] | select(.name=="integrated") |
    "journeys \(.journeys) failed \(.failed) cpu_us_per_journey \((.metrics.counters.generator_cpu_us / .journeys * 10 | round) / 10)"' "$1/results.json" 2>/dev/null ||
    echo "journeys 0 failed 0 cpu_us_per_journey 0"
}
# client BINARY NAME: one client of the pair, in the background, against $url, its report in $dir/NAME.
client() {
  "$1" run --target "$url" --journey "$kind" --suite integrated --users "$users" --duration 10s --quiet \
    --out "$dir/$2" >"$dir/$2.txt" 2>&1 &
}
for i in $(seq "$runs"); do
  dir="$out/run-$i"
  mkdir -p "$dir"
  serve "$dir" --think 0
  first=A
  [ $((i % 2)) = 0 ] && first=B
  if [ "$first" = A ]; then client "$a" A; pa=$!; client "$b" B; pb=$!; else client "$b" B; pb=$!; client "$a" A; pa=$!; fi
  wait "$pa" || true
  wait "$pb" || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "run $i first $first A $(fig "$dir/A") B $(fig "$dir/B")"
done | tee "$out/runs.txt"
echo "== A = $a, B = $b: each run's ratio A/B of CPU per journey: median, 95% interval of the median (the runs in brackets)"
# A run in which either client made no journey (it failed to start, say) has no ratio.
awk '$1 == "run" && $11 > 0 && $18 > 0 { print $11, $18 }' "$out/runs.txt" | awk -v name="A/B" -f scripts/ratio-interval.awk
