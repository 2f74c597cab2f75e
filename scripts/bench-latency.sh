#!/usr/bin/env bash
# bench-latency.sh: issue 11's "latency stays honest": goldenpath's phase timings beside those of two
# yardsticks written from the protocol alone, measuring the same frames at the same load:
# bench/plainclient (net/http and gorilla/websocket, what a user would write; each reply and frame
# timed when its read returned) and bench/wireclient (the socket read by hand, a kept-alive
# connection per user, each frame read by its exact length; timed by two clocks: `wire`, when its
# last byte arrived, as the kernel noted it (SO_TIMESTAMPNS), and `wire_read`, when the read that
# completed it returned). goldenpath times its replies and frames as `wire` does, where it reads the
# socket itself. All three run at once, USERS users each, against one reference backend (its own
# process) whose model takes THINK per run, minimal journeys, for DURATION; each side's median of
# each phase is printed, and goldenpath's over each yardstick's. RUNS runs, a new backend for each;
# then, by phase and yardstick, the median ratio and difference over the runs, with the spread, and
# whether they agree: within 5%, or, for a phase of a few microseconds, within 10 us. goldenpath's
# own read lag (how long its replies and frames waited in the kernel before it read them, per
# journey) is printed beside.
#
# Usage: scripts/bench-latency.sh [RUNS] [USERS] [DURATION] [THINK]   (default 3, 25, 15s, 100ms)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
users="${2:-25}"
dur="${3:-15s}"
think="${4:-100ms}"
out=bench-out/latency
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)) and bench/plainclient"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/plainclient" ./bench/plainclient
go build -o "$out/wireclient" ./bench/wireclient

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root

phases="login ws_connect ws_ready first_event answer journey"
echo "== $runs runs: $users + $users + $users users at once for $dur, model time $think per run, $(nproc) cores"
for i in $(seq "$runs"); do
  dir="$out/run-$i"
  mkdir -p "$dir"
  serve "$dir" --think "$think"
  "$out/plainclient" -target "$url" -users "$users" -duration "$dur" -journey minimal >"$dir/plain.txt" &
  plain_pid=$!
  "$out/wireclient" -target "$url" -users "$users" -duration "$dur" >"$dir/wire.txt" &
  wire_pid=$!
  "$out/goldenpath" run --target "$url" --journey minimal --suite integrated --users "$users" --duration "$dur" \
    --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
  wait "$plain_pid" "$wire_pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  for ph in $phases; do
    g="$(jq -r --arg ph "$ph" '.scenarios[] | select(.name=="integrated") | .phases[$ph].p50_ms' "$dir/report/results.json")"
    for side in plain wire wire_read; do
      case $side in
        plain) p="$(grep -o " $ph [0-9.]*" "$dir/plain.txt" | awk '{print $2}')" ;;
        wire) p="$(sed -e 's/ read_median_ms.*//' "$dir/wire.txt" | grep -o " $ph [0-9.]*" | awk '{print $2}')" ;;
        wire_read) p="$(sed -e 's/.* read_median_ms//' "$dir/wire.txt" | grep -o " $ph [0-9.]*" | awk '{print $2}')" ;;
      esac
      awk -v i="$i" -v ph="$ph" -v s="$side" -v p="$p" -v g="$g" 'BEGIN { printf "run %s %-11s %-5s %8.3f ms  goldenpath %8.3f ms  diff_us %+8.1f  ratio %.3f\n", i, ph, s, p, g, (g - p) * 1000, g / p }'
    done
  done
  echo "run $i journeys: plain $(awk '{print $2}' "$dir/plain.txt"), wire $(awk '{print $2}' "$dir/wire.txt"), goldenpath $(jq -r '.scenarios[] | select(.name=="integrated") | .journeys' "$dir/report/results.json"); goldenpath read_lag p50 $(jq -r '.scenarios[] | select(.name=="integrated") | .phases.read_lag.p50_ms' "$dir/report/results.json") ms, p99 $(jq -r '.scenarios[] | select(.name=="integrated") | .phases.read_lag.p99_ms' "$dir/report/results.json") ms"
done | tee "$out/runs.txt"

for side in plain wire wire_read; do
  echo "== medians over the runs, by phase: goldenpath / $side and goldenpath - $side (the runs in brackets)"
  echo "   (a phase of a few microseconds agrees when they differ by at most 10 us: 5% of it is below what two clock reads resolve)"
  for ph in $phases; do
    r="$(grep "^run [0-9]* $ph *$side " "$out/runs.txt" | awk '{print $NF}' | sort -g | tr '\n' ' ')"
    d="$(grep "^run [0-9]* $ph *$side " "$out/runs.txt" | awk '{print $(NF-2)}' | sort -g | tr '\n' ' ')"
    printf '%s|%s\n' "$r" "$d" | awk -F'|' -v ph="$ph" '
      function med(s,   a, n) { n = split(s, a, " "); return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      function trim(s) { sub(/ +$/, "", s); return s }
      {
        r = med($1); diff = med($2); d = r - 1; if (d < 0) d = -d; ad = diff; if (ad < 0) ad = -ad
        printf "%-11s %.3f [%s]  %+.1f us [%s]  %s\n", ph, r, trim($1), diff, trim($2), (d <= 0.05 || ad <= 10) ? "agrees" : "DOES NOT AGREE"
      }'
  done
done
