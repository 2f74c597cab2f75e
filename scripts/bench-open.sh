#!/usr/bin/env bash
# bench-open.sh: issue 11, "the open model holds its arrival rate with under 1% dropped arrivals
# while the target keeps up". The reference backend runs as its own process with THINK of model
# time per run; `goldenpath run --rate R` drives the integrated scenario in the open model (Poisson
# arrivals, up to max(1000, --users) journeys in flight) for DURATION, minimal journeys, for each
# rate. Printed per run: the rate asked, the journeys started per second, the dropped arrivals and
# their share, the scheduling delay p99 (how late journeys started), and the journey p95.
#
# Usage: scripts/bench-open.sh [RATES] [DURATION] [THINK]   (default "50 100 200 400", 20s, 200ms)
set -euo pipefail
cd "$(dirname "$0")/.."
rates="${1:-50 100 200 400}"
dur="${2:-20s}"
think="${3:-200ms}"
out=bench-out/open
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD))"
go build -o "$out/goldenpath" ./cmd/goldenpath
. scripts/serve-backend.sh # the cd above put us at the root
echo "== open model, $dur per rate, target think $think, $(nproc) cores"
for r in $rates; do
  dir="$out/rate-$r"
  mkdir -p "$dir"
  serve "$dir" --think "$think"
  "$out/goldenpath" run --target "$url" --rate "$r" --journey minimal --suite integrated --duration "$dur" --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  jq -r --arg r "$r" '.scenarios[] | select(.name=="integrated") |
    "rate \($r)/s: started \(((.journeys + .dropped) / .duration_s * 10 | round) / 10)/s arrivals, \(.journeys) journeys, dropped \(.dropped) (\((.dropped / ((.journeys + .dropped) | if . == 0 then 1 else . end) * 10000 | round) / 100)%), failed \(.failed), scheduling_delay p99 \(.phases.scheduling_delay.p99_ms | . * 1000 | round / 1000)ms, journey p95 \(.phases.journey.p95_ms | round)ms"' "$dir/report/results.json"
done | tee "$out/runs.txt"
