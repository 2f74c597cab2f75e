#!/usr/bin/env bash
# bench-load.sh: issue 11's table, every row, goldenpath beside a plain goroutine-per-user gorilla
# client (bench/plainclient, a yardstick written from the protocol alone, not part of goldenpath).
# The target is always the reference backend as its own process, so its CPU and memory are not
# counted. Sections (all by default, or those named after RUNS):
#
#   cpu         CPU per journey, the minimal journey (login, WebSocket, one run of five events,
#               close) and the full one (plus the config read and the thread calls), 50 users for
#               10 s on `serve --think 0`: goldenpath's figure is the generator_cpu_us its
#               integrated scenario records (the whole process while the load ran) over its
#               journeys, the plain client's its own getrusage over its journeys. The minimal
#               journey's runs also measure the floor (bench/floorclient: the journey's system calls
#               and next to nothing else), and each run's goldenpath / floor.
#   memory      memory per connected streaming user: scripts/bench-memory.sh (the slope of the
#               peak RSS from 1,000 to 4,000 users, 1 s per event).
#   users       15,000 streaming users in one process (1 s per event, 20 s): peak RSS, failed
#               journeys, oracle findings (lost, duplicated, reordered frames among them).
#   throughput  journeys done by 4,000 users in 20 s, 1 s per event.
#
# RUNS runs of each, interleaved, a new backend for each; medians and the spread are printed.
#
# Usage: scripts/bench-load.sh [RUNS] [SECTION...]   (default 3, all sections)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
shift || true
sections="${*:-cpu memory users throughput}"
users=50
dur=10s
out=bench-out/load
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)), bench/plainclient and bench/floorclient"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/plainclient" ./bench/plainclient
go build -o "$out/floorclient" ./bench/floorclient

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root

median() { awk '{n=NF; if (n%2) print $((n+1)/2); else print ($(n/2)+$(n/2+1))/2}'; }
want() { case " $sections " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want cpu; then
echo "== $runs pairs of $users users for $dur, $(nproc) cores"
for kind in minimal full; do
  for i in $(seq "$runs"); do
    dir="$out/$kind-$i"
    mkdir -p "$dir"
    serve "$dir" --think 0
    plain="$(/usr/bin/time -f '%U %S' -o "$dir/plain-time.txt" "$out/plainclient" -target "$url" -users "$users" -duration "$dur" -journey "$kind")"
    /usr/bin/time -f '%U %S' -o "$dir/gp-time.txt" "$out/goldenpath" run --target "$url" --journey "$kind" --suite integrated \
      --users "$users" --duration "$dur" --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
    floor=""
    if [ "$kind" = minimal ]; then
      floor="$(/usr/bin/time -f '%U %S' -o "$dir/floor-time.txt" "$out/floorclient" -target "$url" -users "$users" -duration "$dur")"
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
    gp="$(jq -r '.scenarios[] | select(.name=="integrated") | "journeys \(.journeys) failed \(.failed) cpu_us_per_journey \((.metrics.counters.generator_cpu_us / .journeys * 10 | round) / 10) median_ms" +
      ([ "login", "ws_connect", "ws_ready", "first_event", "answer", "journey" ] as $ps | . as $sc | $ps | map(" \(.) \($sc.phases[.].p50_ms)") | join(""))' "$dir/report/results.json")"
    # The kernel's share: system time over the process's life (for goldenpath that includes
    # registering the users and writing the report) per journey.
    pj="$(echo "$plain" | grep -o 'journeys [0-9]*' | awk '{print $2}')"
    gj="$(echo "$gp" | grep -o 'journeys [0-9]*' | awk '{print $2}')"
    psys="$(tail -1 "$dir/plain-time.txt" | awk -v n="$pj" '{printf "%.1f", $2 * 1e6 / n}')"
    gsys="$(tail -1 "$dir/gp-time.txt" | awk -v n="$gj" '{printf "%.1f", $2 * 1e6 / n}')"
    echo "$kind $i plain:      $plain sys_us_per_journey $psys"
    echo "$kind $i goldenpath: $gp sys_us_per_journey $gsys"
    if [ -n "$floor" ]; then
      fj="$(echo "$floor" | grep -o 'journeys [0-9]*' | awk '{print $2}')"
      echo "$kind $i floor:      $floor sys_us_per_journey $(tail -1 "$dir/floor-time.txt" | awk -v n="$fj" '{printf "%.1f", $2 * 1e6 / n}')"
    fi
  done
done | tee "$out/runs.txt"

echo "== medians (CPU per journey, us; the runs in brackets)"
for kind in minimal full; do
  for side in plain goldenpath floor; do
    grep -q "^$kind [0-9]* $side:" "$out/runs.txt" || continue
    vals="$(grep "^$kind [0-9]* $side:" "$out/runs.txt" | grep -o 'cpu_us_per_journey [0-9.]*' | awk '{print $2}' | sort -n | tr '\n' ' ')"
    med="$(echo "$vals" | awk '{n=NF; if (n%2) print $((n+1)/2); else print ($(n/2)+$(n/2+1))/2}')"
    svals="$(grep "^$kind [0-9]* $side:" "$out/runs.txt" | grep -o 'sys_us_per_journey [0-9.]*' | awk '{print $2}' | sort -n | tr '\n' ' ')"
    printf '%-8s %-11s %8s us  [%s]  of it in the kernel %s us [%s]\n' "$kind" "$side" "$med" "$(echo $vals)" \
      "$(echo "$svals" | median)" "$(echo $svals)"
    eval "med_${kind}_${side}=$med"
  done
  awk -v g="$(eval echo \$med_${kind}_goldenpath)" -v p="$(eval echo \$med_${kind}_plain)" -v k="$kind" \
    'BEGIN { printf "%-8s goldenpath / plain = %.2fx\n", k, g / p }'
done
echo "== each run's ratio goldenpath / plain (a pair ran back to back): median, 95% interval of it (6 runs or more)"
for kind in minimal full; do
  awk -v k="$kind" '$1 == k { for (i = 4; i < NF; i++) if ($i == "cpu_us_per_journey") v[$2, $3] = $(i + 1) }
    END { for (key in v) { split(key, a, SUBSEP); if (a[2] == "goldenpath:" && (a[1], "plain:") in v) print v[key], v[a[1], "plain:"] } }' \
    "$out/runs.txt" | awk -v name="$kind" -f scripts/ratio-interval.awk
done
echo "== each run's ratio goldenpath / floor, the minimal journey"
awk '$1 == "minimal" { for (i = 4; i < NF; i++) if ($i == "cpu_us_per_journey") v[$2, $3] = $(i + 1) }
  END { for (key in v) { split(key, a, SUBSEP); if (a[2] == "goldenpath:" && (a[1], "floor:") in v) print v[key], v[a[1], "floor:"] } }' \
  "$out/runs.txt" | awk -v name="minimal/floor" -f scripts/ratio-interval.awk
fi

if want memory; then
  echo "== memory: scripts/bench-memory.sh $runs"
  scripts/bench-memory.sh "$runs" | sed 's/^/  /'
fi

# streaming N DIR: N users of each side, one after the other, for 20 s against a backend taking 5 s
# per run (1 s per event); prints one line per side with its peak RSS and what it counted.
streaming() {
  local n=$1 dir=$2
  mkdir -p "$dir/plain" "$dir/gp"
  serve "$dir/plain" --think 5s
  /usr/bin/time -f '%M' -o "$dir/plain-time.txt" "$out/plainclient" -target "$url" -users "$n" -duration 20s >"$dir/plain.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "plain peak_rss_mib $(awk 'END {printf "%.1f", $1 / 1024}' "$dir/plain-time.txt") $(cut -d' ' -f1-4 "$dir/plain.txt")"
  serve "$dir/gp" --think 5s
  /usr/bin/time -f '%M' -o "$dir/gp-time.txt" "$out/goldenpath" run --target "$url" --journey minimal --suite integrated \
    --users "$n" --duration 20s --run-timeout 30s --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "goldenpath peak_rss_mib $(awk 'END {printf "%.1f", $1 / 1024}' "$dir/gp-time.txt") $(jq -r '.scenarios[] | select(.name=="integrated") |
    "journeys \(.journeys) failed \(.failed) findings \([.violations // {} | .[]] | add // 0) errors \(.errors // {} | to_entries | map("\(.key)=\(.value)") | join(",") | if . == "" then "none" else . end)"' "$dir/report/results.json")"
}

# sidemedian FILE SIDE FIELD: the median, with the runs in brackets, of FIELD's value in SIDE's lines.
sidemedian() {
  local vals
  vals="$(grep "^[a-z0-9]* [0-9]* $2 " "$1" | grep -o " $3 [0-9.]*" | awk '{print $2}' | sort -n | tr '\n' ' ')"
  printf '%s [%s]' "$(echo "$vals" | median)" "$(echo $vals)"
}

if want users; then
  echo "== users: 15,000 streaming users in one process, 1 s per event, 20 s; ulimit -n $(ulimit -n)"
  for i in $(seq "$runs"); do
    streaming 15000 "$out/users-$i" | sed "s/^/users $i /"
  done | tee "$out/users.txt"
  for side in plain goldenpath; do
    printf 'users      %-11s peak RSS %s MiB, journeys %s\n' "$side" "$(sidemedian "$out/users.txt" "$side" peak_rss_mib)" \
      "$(sidemedian "$out/users.txt" "$side" journeys)"
  done
fi

if want throughput; then
  echo "== throughput: journeys done by 4,000 users in 20 s, 1 s per event"
  for i in $(seq "$runs"); do
    streaming 4000 "$out/throughput-$i" | sed "s/^/throughput $i /"
  done | tee "$out/throughput.txt"
  for side in plain goldenpath; do
    printf 'throughput %-11s journeys %s, peak RSS %s MiB\n' "$side" "$(sidemedian "$out/throughput.txt" "$side" journeys)" \
      "$(sidemedian "$out/throughput.txt" "$side" peak_rss_mib)"
  done
fi
