#!/usr/bin/env bash
# bench-cpu-ab.sh: CPU per journey of goldenpath binaries (or bench/plainclient) side by side, to
# measure one change: each run starts a fresh reference backend (`serve --think 0`, its own
# process) and drives it with each binary in turn (each run starting with the next), 50 users for 10 s, minimal journeys (KIND=full
# for full ones), so that the binaries alternate and share the machine's drift. Prints, per run and
# binary, the journeys, the failures and goldenpath's own CPU per journey (its generator_cpu_us
# over its journeys; for bench/plainclient its own count), and /usr/bin/time's user and system
# seconds; then each binary's median over the runs.
#
# With bench/plainclient among them, each one's run-by-run ratio to it too, with a 95% interval;
# with bench/floorclient (the floor: the journey's system calls and next to nothing else), each
# one's ratio to that too (it makes minimal journeys only). A binary named plainclient* or
# floorclient* (a wrapper adding a flag, say) is run as those are.
# Each run also shows the backend's own CPU per journey (server_cpu_us_per_journey, from /proc): a
# slow minute of the machine costs every process more CPU for the same work.
#
# With bench/plainclient among them, also each binary's median over the runs whose plain client cost
# within PLAIN_BAND (default "240 290", the plain client's figure on the day issue 11 was filed):
# the machine's speed swings within a batch, and those runs are the ones at that day's speed.
#
# With PIN=1 the backend runs on core 0 and each client on core 1 (taskset; Go then gives each
# client one P), so that the two never share a core. The backend then has one core, not the two it
# shares otherwise, and does fewer journeys a second: another load than the issue's figure.
#
# Usage: [PIN=1] scripts/bench-cpu-ab.sh RUNS BINARY...   e.g. build two commits' cmd/goldenpath to
#        /tmp/old and /tmp/new, then: scripts/bench-cpu-ab.sh 5 /tmp/old /tmp/new
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,22p' "$0"; exit 2; }
runs=$1
shift
out=bench-out/cpu-ab
rm -rf "$out"
mkdir -p "$out"
kind="${KIND:-minimal}"
for b in "$@"; do
  [ -x "$b" ] || { echo "bench-cpu-ab.sh: $b is not an executable" >&2; exit 2; }
done
# serve-backend.sh wants $out/goldenpath: the first goldenpath binary given serves
for b in "$@"; do
  case "$(basename "$b")" in plainclient* | floorclient*) ;; *) ln -sf "$(realpath "$b")" "$out/goldenpath"; break ;; esac
done
[ -e "$out/goldenpath" ] || go build -o "$out/goldenpath" ./cmd/goldenpath
client_pin=""
if [ "${PIN:-0}" = 1 ]; then
  serve_pin="taskset -c 0"
  client_pin="taskset -c 1"
fi
# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh
# ticks: a process's CPU so far (user and system) in clock ticks, from /proc.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
bins=("$@")
for i in $(seq "$runs"); do
  # Each run starts with the next binary: the one that runs in a given place of a run reads cheaper
  # or dearer with the machine (two batches of one pair, 2026-12-08:
  # the second of the two read 3% and 7% cheaper in the median, whichever it was),
  # and rotating the order spreads that over them all.
  for k in $(seq 0 $(($# - 1))); do
    b="${bins[$(((i - 1 + k) % $#))]}"
    name="$(basename "$b")"
    dir="$out/run-$i-$name"
    mkdir -p "$dir"
    serve "$dir" --think 0
    s0="$(ticks "$pid")"
    if [[ "$name" == plainclient* || "$name" == floorclient* ]]; then
      r="$($client_pin /usr/bin/time -f '%U %S' -o "$dir/time.txt" "$b" -target "$url" -users 50 -duration 10s -journey "$kind" |
        grep -o 'journeys [0-9]*\|failed [0-9]*\|cpu_us_per_journey [0-9.]*' | tr '\n' ' ')"
    else
      $client_pin /usr/bin/time -f '%U %S' -o "$dir/time.txt" "$b" run --target "$url" --journey "$kind" --suite integrated \
        --users 50 --duration 10s --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
      r="$(jq -r '.scenarios[] | select(.name=="integrated") | "journeys \(.journeys) failed \(.failed) cpu_us_per_journey \((.metrics.counters.generator_cpu_us / .journeys * 10 | round) / 10)"' "$dir/report/results.json")"
    fi
    s1="$(ticks "$pid")"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    j="$(echo "$r" | grep -o 'journeys [0-9]*' | awk '{ print $2 }')"
    srv="$(awk -v a="$s0" -v b="$s1" -v hz="$hz" -v j="${j:-0}" 'BEGIN { printf "%.1f", (j > 0 ? (b - a) * 1e6 / hz / j : 0) }')"
    echo "run $i $name $r server_cpu_us_per_journey $srv time_user_sys $(tail -1 "$dir/time.txt")"
  done
done | tee "$out/runs.txt"
echo "== medians of cpu_us_per_journey (the runs in brackets)"
for b in "$@"; do
  name="$(basename "$b")"
  v="$(grep "^run [0-9]* $name " "$out/runs.txt" | grep -o ' cpu_us_per_journey [0-9.]*' | awk '{print $2}' | sort -g | tr '\n' ' ')"
  echo "$v" | awk -v n="$name" '{ k = split($0, a, " "); m = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2; sub(/ +$/, "", $0); printf "%-20s %.1f us [%s]\n", n, m, $0 }'
done
# With bench/plainclient (or bench/floorclient) among the binaries: each other binary's ratio to
# it, run by run (the two ran minutes apart at most, so the machine's drift over the script
# cancels), the median of those ratios and a 95% confidence interval for it
# (scripts/ratio-interval.awk; 6 runs or more).
for base in plainclient floorclient; do
  grep -q "^run [0-9]* $base " "$out/runs.txt" || continue
  echo "== each run's ratio to $base: median, 95% interval of the median (the runs in brackets)"
  for b in "$@"; do
    name="$(basename "$b")"
    [ "$name" = "$base" ] && continue
    awk -v n="$name" -v base="$base" '
      $1 == "run" && $3 == base { for (i = 4; i < NF; i++) if ($i == "cpu_us_per_journey") p[$2] = $(i + 1) }
      $1 == "run" && $3 == n { for (i = 4; i < NF; i++) if ($i == "cpu_us_per_journey") g[$2] = $(i + 1) }
      END { for (r in g) if (r in p) print g[r], p[r] }' "$out/runs.txt" | awk -v name="$name" -f scripts/ratio-interval.awk
  done
done
# The runs at the speed of issue 11's day: those whose plain client cost within PLAIN_BAND.
if grep -q "^run [0-9]* plainclient " "$out/runs.txt"; then
  read -r lo hi <<<"${PLAIN_BAND:-240 290}"
  echo "== the runs whose plainclient cost $lo-$hi us a journey: each binary's median there (its runs in brackets)"
  for b in "$@"; do
    name="$(basename "$b")"
    awk -v n="$name" -v lo="$lo" -v hi="$hi" '
      function fig(   i) { for (i = 4; i < NF; i++) if ($i == "cpu_us_per_journey") return $(i + 1) }
      $1 == "run" && $3 == "plainclient" { p = fig(); if (p >= lo && p <= hi) in_band[$2] = 1 }
      $1 == "run" && $3 == n { g[$2] = fig() }
      END {
        k = 0; for (r in g) if (r in in_band) x[++k] = g[r]
        if (k == 0) { printf "%-20s no run in the band\n", n; exit }
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
        m = (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
        s = ""; for (i = 1; i <= k; i++) s = s sprintf("%s%.1f", (i > 1 ? " " : ""), x[i])
        printf "%-20s %.1f us over %d runs [%s]\n", n, m, k, s
      }' "$out/runs.txt"
  done
fi
