#!/usr/bin/env bash
# bench-load.sh: issue 11's table, the rows measured so far: goldenpath's own CPU per journey beside
# a plain goroutine-per-user gorilla client (bench/plainclient, a yardstick, not part of goldenpath),
# the minimal journey (login, WebSocket, one run of five events, close) and the full one (plus the
# config read and the thread calls). The target is the reference backend as its own process
# (`serve --think 0`), so its CPU is not counted; goldenpath's figure is the generator_cpu_us its
# integrated scenario records (the whole process while the load ran) over its journeys, the plain
# client's its own getrusage over its journeys. RUNS pairs, interleaved, a new backend for each pair;
# medians and the spread are printed.
#
# Usage: scripts/bench-load.sh [RUNS] [USERS] [DURATION]   (default 3 pairs, 50 users, 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
users="${2:-50}"
dur="${3:-10s}"
out=bench-out/load
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)) and bench/plainclient"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/plainclient" ./bench/plainclient

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root

echo "== $runs pairs of $users users for $dur, $(nproc) cores"
for kind in minimal full; do
  for i in $(seq "$runs"); do
    dir="$out/$kind-$i"
    mkdir -p "$dir"
    serve "$dir" --think 0
    plain="$("$out/plainclient" -target "$url" -users "$users" -duration "$dur" -journey "$kind")"
    "$out/goldenpath" run --target "$url" --journey "$kind" --suite integrated --users "$users" --duration "$dur" \
      --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    gp="$(jq -r '.scenarios[] | select(.name=="integrated") | "journeys \(.journeys) failed \(.failed) cpu_us_per_journey \((.metrics.counters.generator_cpu_us / .journeys * 10 | round) / 10) median_ms" +
      ([ "login", "ws_connect", "ws_ready", "first_event", "answer", "journey" ] as $ps | . as $sc | $ps | map(" \(.) \($sc.phases[.].p50_ms)") | join(""))' "$dir/report/results.json")"
    echo "$kind $i plain:      $plain"
    echo "$kind $i goldenpath: $gp"
  done
done | tee "$out/runs.txt"

echo "== medians (CPU per journey, us; the runs in brackets)"
for kind in minimal full; do
  for side in plain goldenpath; do
    vals="$(grep "^$kind [0-9]* $side:" "$out/runs.txt" | grep -o 'cpu_us_per_journey [0-9.]*' | awk '{print $2}' | sort -n | tr '\n' ' ')"
    med="$(echo "$vals" | awk '{n=NF; if (n%2) print $((n+1)/2); else print ($(n/2)+$(n/2+1))/2}')"
    printf '%-8s %-11s %8s us  [%s]\n' "$kind" "$side" "$med" "$(echo $vals)"
    eval "med_${kind}_${side}=$med"
  done
  awk -v g="$(eval echo \$med_${kind}_goldenpath)" -v p="$(eval echo \$med_${kind}_plain)" -v k="$kind" \
    'BEGIN { printf "%-8s goldenpath / plain = %.2fx\n", k, g / p }'
done

