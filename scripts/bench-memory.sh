#!/usr/bin/env bash
# bench-memory.sh: issue 11's memory rows, measured: the load generator's own memory per connected
# streaming user, goldenpath beside the plain client (bench/plainclient). The target is the
# reference backend as its own process with 5 s of model time per run (1 s per event of its five),
# so users spend their time connected and streaming. Each side runs LOW and then HIGH users for
# DURATION, minimal journeys, under /usr/bin/time; the figure is the slope of the peak RSS,
# (RSS(HIGH) - RSS(LOW)) / (HIGH - LOW), in KiB per user. RUNS repetitions, medians printed.
#
# Usage: scripts/bench-memory.sh [RUNS] [LOW] [HIGH] [DURATION]   (default 3, 1000, 4000, 20s)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
low="${2:-1000}"
high="${3:-4000}"
dur="${4:-20s}"
out=bench-out/memory
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)) and bench/plainclient"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/plainclient" ./bench/plainclient

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root

rss() { # prints the peak RSS in KiB of the command after --
  /usr/bin/time -f '%M' -o "$1" "${@:2}" >/dev/null 2>&1 || true
  tail -1 "$1"
}

echo "== $runs runs: $low and $high users for $dur each, $(nproc) cores, ulimit -n $(ulimit -n)"
for i in $(seq "$runs"); do
  for side in plain goldenpath; do
    line="$side $i"
    for n in "$low" "$high"; do
      dir="$out/$side-$i-$n"
      mkdir -p "$dir"
      serve "$dir" --think 5s
      if [ "$side" = plain ]; then
        kib="$(rss "$dir/time.txt" "$out/plainclient" -target "$url" -users "$n" -duration "$dur")"
      else
        kib="$(rss "$dir/time.txt" "$out/goldenpath" run --target "$url" --journey minimal --suite integrated --users "$n" \
          --duration "$dur" --run-timeout 30s --quiet --out "$dir/report")"
      fi
      kill "$pid"; wait "$pid" 2>/dev/null || true
      line="$line rss_${n}_kib $kib"
    done
    echo "$line" | awk -v lo="$low" -v hi="$high" '{ printf "%s slope_kib_per_user %.1f\n", $0, ($6 - $4) / (hi - lo) }'
  done
done | tee "$out/runs.txt"

echo "== medians (KiB per connected user; the runs in brackets)"
for side in plain goldenpath; do
  vals="$(grep "^$side " "$out/runs.txt" | awk '{print $NF}' | sort -n | tr '\n' ' ')"
  med="$(echo "$vals" | awk '{n=NF; if (n%2) print $((n+1)/2); else print ($(n/2)+$(n/2+1))/2}')"
  printf '%-11s %7s KiB/user  [%s]\n' "$side" "$med" "$(echo $vals)"
done
