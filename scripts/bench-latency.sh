#!/usr/bin/env bash
# bench-latency.sh: issue 11's "latency stays honest": goldenpath's phase timings beside those of two
# yardsticks written from the protocol alone, measuring the same frames at the same load, and beside
# the wire itself.
#
# The clients, all at once, USERS users each, minimal journeys, for DURATION, against one reference
# backend (its own process) whose model takes THINK per run:
#   goldenpath  each reply and frame timed to when its last byte arrived, as the kernel noted it
#               (SO_TIMESTAMPNS), where it reads the socket itself (here: the epoll loops)
#   plain       bench/plainclient: net/http and gorilla/websocket, what a user would write; each
#               reply and frame timed when its read returned
#   wire        bench/wireclient: the socket read by hand, each frame by its exact length, timed
#               as goldenpath times them (the kernel's arrival time); its users share their
#               kept-alive API connections as goldenpath's do (-shared-api; WIRE_FLAGS= gives each
#               user its own, which a server at its limit answers more slowly: a different load)
#   wire_read   bench/wireclient's readings by the other clock: when the read returned
# and the reference they are all judged against:
#   tap_*       bench/wiretap: the packets on loopback (an AF_PACKET capture of the server's port),
#               each message stamped with the arrival of the segment that carried its last byte
#               (a request: its first), before any client read it; told apart by client. Needs
#               root or CAP_NET_RAW; without, it is left out.
#
# RUNS runs, a new backend for each. Each pair's per-run medians are printed, then, by phase, the
# median ratio and difference over the runs with the spread, and whether they agree: within 5%, or,
# for a phase of a few microseconds, within 10 us. goldenpath's read lag (per journey, the longest
# its replies and frames waited in the kernel before it read them) is printed beside.
#
# With PIN=1 the backend runs on core 0 and the clients and the tap on core 1 (taskset), so that no
# client's process competes with the server for its core. With PLAIN=0 the plain client is left out:
# goldenpath and the wire client, the pair the issue compares, share the machine with one program
# fewer (the pairs with plain are then not printed).
#
# Last, each client's error against the capture of its own frames, goldenpath's beside the wire
# client's: the server's different treatment of two clients taken out. And, with the capture,
# ws_ready journey by journey: goldenpath (GOLDENPATH_JOURNEYS) and the wire client (-journeys) name
# each journey's WebSocket port, the tap (-conns) its reading of the same connection; so each
# client's error on the very journeys it timed, and which journeys it could not time, show apart.
#
# Usage: [PIN=1] [PLAIN=0] scripts/bench-latency.sh [RUNS] [USERS] [DURATION] [THINK]   (default 3, 25, 15s, 100ms)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
users="${2:-25}"
dur="${3:-15s}"
think="${4:-100ms}"
out=bench-out/latency
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)), bench/plainclient, bench/wireclient, bench/wiretap"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/plainclient" ./bench/plainclient
go build -o "$out/wireclient" ./bench/wireclient
go build -o "$out/wiretap" ./bench/wiretap

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root
pin=""
if [ "${PIN:-0}" = 1 ]; then
  serve_pin="taskset -c 0"
  pin="taskset -c 1"
  echo "== pinned: the backend on core 0, the clients and the tap on core 1"
fi

# ws_dial and ws_upgrade split ws_connect, and only the tap has them: the SYN to the upgrade request
# (the client's own time: its handshake's end and what it does before it writes), and the request to
# the 101 (the server's).
phases="login ws_connect ws_ready ws_handshake first_event answer journey ws_dial ws_upgrade"

# median SOURCE DIR PHASE: one source's median of PHASE in one run, in ms ("" when it has none).
median() {
  local src=$1 dir=$2 ph=$3
  case $src in
    goldenpath) jq -r --arg ph "$ph" '.scenarios[] | select(.name=="integrated") | .phases[$ph].p50_ms // empty' "$dir/report/results.json" ;;
    plain) grep -o " $ph [0-9.]*" "$dir/plain.txt" | awk '{print $2}' || true ;; # none for ws_handshake
    wire) sed -e 's/ read_median_ms.*//' "$dir/wire.txt" | grep -o " $ph [0-9.]*" | awk '{print $2}' || true ;;
    wire_read) sed -e 's/.* read_median_ms//' "$dir/wire.txt" | grep -o " $ph [0-9.]*" | awk '{print $2}' || true ;;
    tap_*) { [ -s "$dir/tap.txt" ] && grep "^client ${src#tap_} " "$dir/tap.txt" | grep -o " $ph [0-9.]*" | awk '{print $2}'; } || true ;;
  esac
}

# the pairs compared: "A/B" reads as A's median over B's
# (tap_gp/tap_wire: the wire's own view of the two clients' journeys, where the server's different
# answers to them show, and the two clients' own dialing, in ws_dial.)
pairs="goldenpath/wire goldenpath/tap_gp wire/tap_wire wire_read/tap_wire plain/tap_plain goldenpath/plain tap_gp/tap_wire"

tap_ok=1
echo "== $runs runs: $users + $users + $users users at once for $dur, model time $think per run, $(nproc) cores"
for i in $(seq "$runs"); do
  dir="$out/run-$i"
  mkdir -p "$dir"
  serve "$dir" --think "$think"
  tap_pid=""
  if [ "$tap_ok" = 1 ]; then
    $pin "$out/wiretap" -target "$url" -duration 10m -conns "$dir/tap-conns.txt" >"$dir/tap.txt" 2>"$dir/tap.err" &
    tap_pid=$!
    for _ in $(seq 50); do grep -q capturing "$dir/tap.err" 2>/dev/null && break; kill -0 "$tap_pid" 2>/dev/null || break; sleep 0.1; done
    if ! grep -q capturing "$dir/tap.err"; then
      echo "   bench/wiretap left out: $(cat "$dir/tap.err")"
      tap_ok=0; tap_pid=""
    fi
  fi
  plain_pid=""
  if [ "${PLAIN:-1}" = 1 ]; then
    $pin "$out/plainclient" -target "$url" -users "$users" -duration "$dur" -journey minimal >"$dir/plain.txt" &
    plain_pid=$!
  else
    : >"$dir/plain.txt"
  fi
  $pin "$out/wireclient" -target "$url" -users "$users" -duration "$dur" -journeys "$dir/wire-journeys.txt" ${WIRE_FLAGS-"-shared-api"} >"$dir/wire.txt" &
  wire_pid=$!
  GOLDENPATH_JOURNEYS="$dir/gp-journeys.txt" $pin "$out/goldenpath" run --target "$url" --journey minimal --suite integrated --users "$users" --duration "$dur" \
    --quiet --out "$dir/report" >"$dir/run.txt" 2>&1 || true
  wait $plain_pid "$wire_pid"
  if [ -n "$tap_pid" ]; then kill -INT "$tap_pid"; wait "$tap_pid" || true; fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  for pair in $pairs; do
    a=${pair%/*} b=${pair#*/}
    for ph in $phases; do
      x="$(median "$a" "$dir" "$ph")"; y="$(median "$b" "$dir" "$ph")"
      [ -n "$x" ] && [ -n "$y" ] || continue
      awk -v i="$i" -v ph="$ph" -v pair="$pair" -v x="$x" -v y="$y" 'BEGIN { printf "run %s %-20s %-11s %9.3f ms %9.3f ms  diff_us %+8.1f  ratio %s\n", i, pair, ph, x, y, (x - y) * 1000, (y > 0 ? sprintf("%.3f", x / y) : "inf") }'
    done
  done
  lag="$(jq -r '.scenarios[] | select(.name=="integrated") | "p50 \(.phases.read_lag.p50_ms) ms, p99 \(.phases.read_lag.p99_ms) ms; ws_ready seen in \(.phases.ws_ready.count // 0), unseen in \(.metrics.counters.ws_ready_unseen // 0)"' "$dir/report/results.json")"
  echo "run $i journeys: plain $(awk '{print $2}' "$dir/plain.txt"), wire $(awk '{print $2}' "$dir/wire.txt") (ws_ready seen in $(grep -o 'ws_ready_seen [0-9]*' "$dir/wire.txt" | awk '{print $2}')), goldenpath $(jq -r '.scenarios[] | select(.name=="integrated") | .journeys' "$dir/report/results.json"); goldenpath read_lag $lag"
  [ -s "$dir/tap.txt" ] && echo "run $i tap: $(tail -1 "$dir/tap.txt")"
done | tee "$out/runs.txt"

echo "== by phase, medians over the runs of A / B and A - B (the runs in brackets); 'agrees': within 5%, or within 10 us for a phase of a few microseconds"
for pair in $pairs; do
  grep -q "^run [0-9]* $pair " "$out/runs.txt" || continue
  echo "-- $pair"
  for ph in $phases; do
    r="$(grep "^run [0-9]* $pair  *$ph " "$out/runs.txt" | awk '{print $NF}' | grep -v inf | sort -g | tr '\n' ' ' || true)"
    d="$(grep "^run [0-9]* $pair  *$ph " "$out/runs.txt" | awk '{print $(NF-2)}' | sort -g | tr '\n' ' ' || true)"
    [ -n "$d" ] || continue # a phase one side does not measure (plain has no ws_handshake)
    printf '%s|%s\n' "$r" "$d" | awk -F'|' -v ph="$ph" '
      function med(s,   a, n) { n = split(s, a, " "); if (n == 0) return "nan"; return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      function trim(s) { sub(/ +$/, "", s); return s }
      {
        r = med($1); diff = med($2); ad = diff; if (ad < 0) ad = -ad
        ok = (ad <= 10); if (r != "nan") { d = r - 1; if (d < 0) d = -d; if (d <= 0.05) ok = 1 }
        printf "   %-11s %s [%s]  %+.1f us [%s]  %s\n", ph, (r == "nan" ? "  -  " : sprintf("%.3f", r)), trim($1), diff, trim($2), ok ? "agrees" : "DOES NOT AGREE"
      }'
  done
done

# The server answers two clients' frames at moments of its own queue, so goldenpath/wire also holds
# the server's different treatment of each client (each agrees with the capture of its own frames).
# Each client's error against the capture of its own frames takes that out: goldenpath measures as
# well as the hand-written client when the two errors agree (within 5 points, or 10 us).
if grep -q "^run [0-9]* goldenpath/tap_gp " "$out/runs.txt" && grep -q "^run [0-9]* wire/tap_wire " "$out/runs.txt"; then
  echo "== each client's error against the capture of its own frames (medians over the runs): goldenpath's beside the wire client's"
  for ph in $phases; do
    g="$(grep "^run [0-9]* goldenpath/tap_gp  *$ph " "$out/runs.txt" | awk '{print $NF, $(NF-2)}' || true)" # none for ws_dial
    w="$(grep "^run [0-9]* wire/tap_wire  *$ph " "$out/runs.txt" | awk '{print $NF, $(NF-2)}' || true)"
    [ -n "$g" ] && [ -n "$w" ] || continue
    printf '%s\n--\n%s\n' "$g" "$w" | awk -v ph="$ph" '
      function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      /^--$/ { side = 1; next }
      side == 0 { gr[++gn] = $1; gd[gn] = $2 }
      side == 1 { wr[++wn] = $1; wd[wn] = $2 }
      END {
        g = med(gr, gn) - 1; w = med(wr, wn) - 1; dg = med(gd, gn); dw = med(wd, wn)
        pts = (g - w) * 100; if (pts < 0) pts = -pts; us = dg - dw; if (us < 0) us = -us
        printf "   %-12s goldenpath %+6.1f%% (%+7.1f us)  wire %+6.1f%% (%+7.1f us)  %s\n", ph, g * 100, dg, w * 100, dw, (pts <= 5 || us <= 10) ? "agree" : "DO NOT AGREE"
      }'
  done
fi

# ws_ready journey by journey: each client's line per journey (its WebSocket's port and its ws_ready,
# "-" when it could not time it) matched with the tap's reading of the same connection (the n-th
# journey on a port with the tap's n-th on it). Over every run together: on the journeys a client
# timed, its error, journey by journey; and the tap's ws_ready on the journeys it timed beside those
# it could not (of them, how many came in the 101's own segment, which nothing can split).
# quantile FILE P: the P quantile of FILE's numbers, one a line ("-" when it has none).
quantile() { sort -g "$1" | awk -v p="$2" '{ a[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.1f", a[int(p * (NR - 1)) + 1] }'; }
if ls "$out"/run-*/tap-conns.txt >/dev/null 2>&1; then
  echo "== ws_ready journey by journey against the capture of the same connection (every run)"
  for side in "goldenpath gp gp-journeys.txt" "wire wire wire-journeys.txt"; do
    set -- $side
    for i in $(seq "$runs"); do
      dir="$out/run-$i"
      [ -s "$dir/tap-conns.txt" ] && [ -s "$dir/$3" ] || continue
      awk -v tc="$2" '
        FNR == NR { if ($1 == tc) { k = $2 SUBSEP (++tn[$2]); tap[k] = $3; one[k] = $4 } next }
        { k = $2 SUBSEP (++cn[$2]); if (k in tap) print $3, tap[k], one[k] }' "$dir/tap-conns.txt" "$dir/$3"
    done >"$out/ready-$1.txt"
    m="$out/ready-$1.txt"
    n="$(wc -l <"$m")"
    if [ "$n" = 0 ]; then echo "   $1: no journey matched"; continue; fi
    awk '$1 != "-" { print $1 - $2 }' "$m" >"$m.err"
    awk '$1 != "-" { print $2 }' "$m" >"$m.timed"
    awk '$1 == "-" { print $2 }' "$m" >"$m.untimed"
    awk '{ print $2 }' "$m" >"$m.all"
    timed="$(wc -l <"$m.err")"
    same="$(awk '$1 == "-" && $3 == "true"' "$m" | wc -l)"
    echo "   $1: $n journeys matched; timed $timed ($(awk -v a="$timed" -v b="$n" 'BEGIN { printf "%.0f", 100 * a / b }')%): error $(quantile "$m.err" 0.5) us median [p10 $(quantile "$m.err" 0.1), p90 $(quantile "$m.err" 0.9)]"
    echo "   $1: the tap's ws_ready (us): all $(quantile "$m.all" 0.5); on those it timed $(quantile "$m.timed" 0.5); on the $((n - timed)) it could not $(quantile "$m.untimed" 0.5) ($same of them in the 101's own segment)"
  done
fi
