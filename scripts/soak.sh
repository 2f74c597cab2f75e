#!/usr/bin/env bash
# soak.sh: issue 13's soak. SESSIONS golden-path sessions (log in, config, WebSocket, one streamed
# agent run, the store read-back, close) by USERS users against the reference backend in its own
# process, every frame judged by goldenpath's oracle. It prints and checks:
#   - events: every session succeeded, and 0 lost (seq_gap, missing_terminal), duplicated
#     (seq_duplicate) or reordered (seq_reorder, grammar) events;
#   - the backend's memory back to its baseline: its live heap after garbage collection (GODEBUG
#     gctrace), goroutines, open files and WebSocket connections after the soak, against the same
#     after a warm-up of WARM sessions. Each is measured after the same short trickle of WARM
#     sessions, so that the collector has run on both sides; the live heap may grow by at most
#     HEAP_SLACK_MIB (the runtime's own caches), the counts not at all.
# Exit 1 when a check fails. The figures go in docs/benchmarks.md ("Soak (issue 13)").
#
# Usage: scripts/soak.sh [SESSIONS] [USERS] [WARM]   (default 10000, 100, 500)
#        SOAK_FAULT=LIST scripts/soak.sh ...   the same against a backend with faults (docs/faults.md),
#        e.g. memory-leak=4KiB or drop-events=2000, to see each check fire
set -euo pipefail
cd "$(dirname "$0")/.."
sessions="${1:-10000}"
users="${2:-100}"
warm="${3:-500}"
heap_slack_mib="${HEAP_SLACK_MIB:-4}"
out=bench-out/soak
rm -rf "$out"
mkdir -p "$out"
command -v jq >/dev/null || { echo "soak.sh needs jq (apt-get install jq)"; exit 2; }
echo "== building goldenpath ($(git rev-parse --short HEAD))"
go build -o "$out/goldenpath" ./cmd/goldenpath

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root
export GODEBUG=gctrace=1   # the backend prints its live heap after every collection
serve "$out" ${SOAK_FAULT:+--fault "$SOAK_FAULT"}
unset GODEBUG
trap 'kill "$pid" 2>/dev/null || true' EXIT

# gp NAME N: N sessions by USERS users, reports in $out/NAME.
gp() {
  "$out/goldenpath" run --target "$url" --suite integrated --users "$users" --iterations "$2" \
    --duration 30m --max-users 0 --quiet --out "$out/$1" >"$out/$1.txt" 2>&1 || true
}
# live_heap_mib: the live heap after the backend's last collection (gctrace's A->B->C MB: C).
live_heap_mib() { grep -o '[0-9]*->[0-9]*->[0-9]* MB' "$out/serve.txt" | tail -1 | sed 's/.*->\([0-9]*\) MB/\1/'; }
metric() { curl -fsS "$url/metrics" | awk -v m="$1" '$1 == m && !done {print $2; done = 1}'; }
# state LABEL: prints and records the backend's memory and counts, once it is quiet.
state() {
  local conns
  for _ in $(seq 50); do # wait for the last sockets of the trickle to close (bounded: 10 s)
    conns="$(metric goldenpath_active_connections)"
    [ "${conns%.*}" = 0 ] && break
    sleep 0.2
  done
  sleep 1
  printf '%s live_heap_mib %s goroutines %s open_fds %s connections %s rss_mib %.1f\n' "$1" "$(live_heap_mib)" \
    "$(metric go_goroutines)" "$(metric process_open_fds)" "$(metric goldenpath_active_connections)" \
    "$(echo "$(metric process_resident_memory_bytes)" | awk '{print $1 / 1048576}')" | tee -a "$out/state.txt"
}

echo "== warm-up: $warm sessions, then a trickle of $warm"
gp warm "$warm"
gp trickle-before "$warm"
state before
echo "== soak: $sessions sessions by $users users"
start=$(date +%s)
gp soak "$sessions"
took=$(( $(date +%s) - start ))
echo "== trickle of $warm after the soak"
gp trickle-after "$warm"
state after

r="$out/soak/results.json"
sc='.scenarios[] | select(.name=="integrated")'
journeys="$(jq -r "$sc | .journeys" "$r")"
ok="$(jq -r "$sc | .succeeded" "$r")"
failed="$(jq -r "$sc | .failed" "$r")"
v() { jq -r "$sc | (.violations // {})[\"$1\"] // 0" "$r"; }
lost=$(( $(v seq_gap) + $(v missing_terminal) ))
dup="$(v seq_duplicate)"
reord=$(( $(v seq_reorder) + $(v grammar) ))
frames="$(jq -r "$sc | .metrics.counters.frames_received // empty" "$r")"
echo "== soak: $journeys sessions in ${took}s ($ok succeeded, $failed failed); events lost $lost, duplicated $dup, reordered $reord"
jq -r "$sc | (.violations // {}) | to_entries[] | \"   violation \(.key): \(.value)\"" "$r"
[ -n "$frames" ] && echo "   frames judged: $frames"

fail=0
[ "$ok" = "$sessions" ] || { echo "FAIL: $ok of $sessions sessions succeeded"; fail=1; }
[ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$reord" = 0 ] || { echo "FAIL: events lost, duplicated or reordered"; fail=1; }
read -r _ _ hb _ gb _ fb _ cb _ rb < <(grep '^before' "$out/state.txt")
read -r _ _ ha _ ga _ fa _ ca _ ra < <(grep '^after' "$out/state.txt")
echo "== backend memory: live heap $hb -> $ha MiB (slack $heap_slack_mib), goroutines $gb -> $ga, open files $fb -> $fa, connections $cb -> $ca, RSS $rb -> $ra MiB"
[ "$ha" -le $(( hb + heap_slack_mib )) ] || { echo "FAIL: the live heap did not come back ($hb -> $ha MiB)"; fail=1; }
[ "${ga%.*}" -le "${gb%.*}" ] || { echo "FAIL: goroutines not back to baseline ($gb -> $ga)"; fail=1; }
[ "${fa%.*}" -le "${fb%.*}" ] || { echo "FAIL: open files not back to baseline ($fb -> $fa)"; fail=1; }
[ "${ca%.*}" = 0 ] || { echo "FAIL: $ca WebSocket connections still open"; fail=1; }
[ "$fail" = 0 ] && echo "PASS: soak of $sessions sessions" || echo "FAIL: soak of $sessions sessions"
exit "$fail"
