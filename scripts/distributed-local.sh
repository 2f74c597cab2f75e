#!/usr/bin/env bash
# distributed-local.sh: a distributed test on this machine, run as deploy/kubernetes runs it, and
# compared with one process running the same total load (issue 12's proof without a cluster).
#
# One reference backend (goldenpath serve, loopback, its own process) is the target of everything.
# N segment processes start at once, each with the environment the segments Job gives its pods
# (JOB_COMPLETION_INDEX=0..N-1, RUN_ID, SEGMENTS, START_AT a few seconds ahead, TARGET, SUITES,
# USERS, DURATION, ITERATIONS, and nothing else but PATH and HOME) and the arguments of the Job's
# container, read from deploy/kubernetes/base/segments-job.yaml and expanded as the kubelet expands
# $(VAR); only the volume's mount point /results is a folder here. The merge runs as the merge Job
# does (its arguments read from merge-job.yaml: merge --from --wait N). Then one process runs the
# same total load (--segment 1/1, same --users and --iterations), and the script compares:
#   - journeys add up: the merged integrated journeys = the sum of the segments' = the single run's;
#   - the merged histograms hold every sample: for each phase, the merged count = the sum of the
#     segments' counts;
#   - the checks were judged on the merged data: the merged results.json lists segments 1/N..N/N,
#     and each check's sample count is the sum of the segments' (not one segment's); it judged the
#     same checks as the single run;
#   - merge refuses the set with a segment missing (exit 2).
# It prints a table and exits 1 when a comparison fails. Each process is bounded (timeout); with
# the defaults it takes well under two minutes for N = 2..4. Needs jq (apt-get install -y jq).
#
# Usage: scripts/distributed-local.sh [N] [USERS] [ITERATIONS]   (default 2, 8, 400)
#        GOLDENPATH_BIN=path/to/goldenpath scripts/distributed-local.sh ...   (a binary built already)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2}"
users="${2:-8}"
iterations="${3:-400}"
suites=integrated
duration=90s # a bound: the integrated scenario ends at ITERATIONS journeys, well before
think=50ms   # the backend's model time per run
out=bench-out/distributed-local
command -v jq >/dev/null || { echo "distributed-local.sh needs jq: apt-get install -y jq"; exit 2; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "N must be a number of segments, 1 or more (got $n)"; exit 2; }
rm -rf "$out"
mkdir -p "$out"
if [ -n "${GOLDENPATH_BIN:-}" ]; then
  bin="$(realpath "$GOLDENPATH_BIN")"
  ln -s "$bin" "$out/goldenpath" # where serve-backend.sh looks
  echo "== goldenpath: $bin ($("$bin" version))"
else
  echo "== building goldenpath ($(git rev-parse --short HEAD))"
  go build -o "$out/goldenpath" ./cmd/goldenpath
  bin="$(pwd)/$out/goldenpath"
fi

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root
serve "$out" --think "$think"
trap 'kill "$pid" 2>/dev/null || true' EXIT
echo "== target: goldenpath serve at $url (model time $think a run), $(nproc) cores"

# manifest_args FILE: the container's args of a Job manifest, one a line, comments left out.
manifest_args() {
  awk '/^ *args:$/ { on = 1; next }
       on && /^ *#/ { next }
       on && /^ *- / { sub(/^ *- /, ""); print; next }
       on { exit }' "$1"
}

# expand ARG NAME=VALUE...: $(NAME) replaced by VALUE, as the kubelet expands args from the
# container's environment (a name it does not define is left as it is).
expand() {
  local arg=$1 kv
  shift
  for kv in "$@"; do
    arg="${arg//\$(${kv%%=*})/${kv#*=}}"
  done
  printf '%s\n' "$arg"
}

results="$(pwd)/$out/results" # the results volume, mounted at /results in the pods
run_id="local-$(date +%s)"
start_at="$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)"
mapfile -t seg_args < <(manifest_args deploy/kubernetes/base/segments-job.yaml)
mapfile -t merge_args < <(manifest_args deploy/kubernetes/base/merge-job.yaml)
config=(RUN_ID="$run_id" SEGMENTS="$n" START_AT="$start_at" TARGET="$url" SUITES="$suites"
  USERS="$users" DURATION="$duration" ITERATIONS="$iterations" MERGE_WAIT_TIMEOUT=100s)

echo "== $n segments of $users users and $iterations journeys in all, run id $run_id, common start $start_at"
seg_pids=()
for i in $(seq 0 $((n - 1))); do
  env_i=(JOB_COMPLETION_INDEX="$i" "${config[@]}")
  args=()
  for a in "${seg_args[@]}"; do
    a="$(expand "$a" "${env_i[@]}")"
    args+=("${a//=\/results/=$results}")
  done
  [ "$i" = 0 ] && echo "   pod 0: goldenpath ${args[*]}"
  env -i PATH="$PATH" HOME="$HOME" "${env_i[@]}" timeout 120 "$bin" "${args[@]}" >"$out/segment-$i.txt" 2>&1 &
  seg_pids+=($!)
done
# The merge starts beside the segments, as its Job does; merge --wait counts a --from folder not
# made yet as no part yet.
args=()
for a in "${merge_args[@]}"; do
  a="$(expand "$a" "${config[@]}")"
  args+=("${a//=\/results/=$results}")
done
echo "   merge: goldenpath ${args[*]}"
env -i PATH="$PATH" HOME="$HOME" "${config[@]}" timeout 120 "$bin" "${args[@]}" >"$out/merge.txt" 2>&1 &
merge_pid=$!
fail=0
for i in "${!seg_pids[@]}"; do
  code=0
  wait "${seg_pids[$i]}" || code=$?
  # 0: its checks passed, 1: one failed on its part of the data: either way its results are written.
  if [ "$code" -gt 1 ]; then
    echo "segment $((i + 1))/$n exited $code:"; tail -5 "$out/segment-$i.txt"; fail=1
  fi
done
merge_code=0
wait "$merge_pid" || merge_code=$?
echo "   merge exited $merge_code ($(grep -o 'merged [0-9]* results (segments [^)]*)' "$out/merge.txt" || echo 'no merge'))"
[ "$merge_code" -le 1 ] || { tail -5 "$out/merge.txt"; fail=1; }
merged="$results/$run_id/merged/results.json"
[ -f "$merged" ] || { echo "no merged results.json"; exit 1; }

echo "== one process, the same total load: --segment 1/1 --users $users --iterations $iterations"
env_1=(JOB_COMPLETION_INDEX=0 "${config[@]}")
args=()
for a in "${seg_args[@]}"; do
  a="$(expand "$a" "${env_1[@]}")"
  case "$a" in
  --segment=*) a=--segment=1/1 ;;
  --run-id=*) a=--run-id=single ;;
  --start-at=*) a=--start-at= ;;
  --out=*) a=--out=$results/single ;;
  esac
  args+=("$a")
done
single_code=0
env -i PATH="$PATH" HOME="$HOME" timeout 120 "$bin" "${args[@]}" >"$out/single.txt" 2>&1 || single_code=$?
[ "$single_code" -le 1 ] || { echo "the single process exited $single_code:"; tail -5 "$out/single.txt"; exit 1; }
single="$results/single/results.json"

parts=()
for i in $(seq 0 $((n - 1))); do parts+=("$results/$run_id/segment-$i/results.json"); done
# scen FILE FIELD: the integrated scenario's FIELD (a jq path after it).
scen() { jq -r ".scenarios[] | select(.name==\"integrated\") | $2" "$1"; }
sum() { local s=0 f; for f in "${parts[@]}"; do s=$((s + $(scen "$f" "$1 // 0"))); done; echo "$s"; }
row() { printf '%-28s' "$1"; shift; printf ' %9s' "$@"; printf '\n'; }

echo
echo "== results (integrated scenario; segments 1..$n, their sum, the merge, one process)"
hdr=("what")
for i in $(seq 1 "$n"); do hdr+=("seg $i/$n"); done
row "${hdr[@]}" sum merged single ok
check() { # check LABEL FIELD: the segments' values, their sum, merged and single; merged must be the sum
  local label=$1 field=$2 vals=() f s m one ok=yes
  for f in "${parts[@]}"; do vals+=("$(scen "$f" "$field // 0")"); done
  s="$(sum "$field")"
  m="$(scen "$merged" "$field // 0")"
  one="$(scen "$single" "$field // 0")"
  [ "$m" = "$s" ] || { ok=NO; fail=1; }
  row "$label" "${vals[@]}" "$s" "$m" "$one" "$ok"
}
check journeys .journeys
check succeeded .succeeded
for ph in $(scen "$merged" '.phases | keys[]'); do
  check "$ph count" ".phases[\"$ph\"].count"
done
mj="$(scen "$merged" .journeys)"
sj="$(scen "$single" .journeys)"
if [ "$mj" != "$iterations" ] || [ "$sj" != "$iterations" ]; then
  echo "journeys: merged $mj, single $sj; want both $iterations (--iterations)"; fail=1
fi

echo
echo "== the checks, judged on the merged data"
want_segs="$(seq 1 "$n" | sed "s|\$|/$n|" | paste -sd, -)"
got_segs="$(jq -r '.segments | join(",")' "$merged")"
echo "merged segments: $got_segs (want $want_segs), run id $(jq -r .options.run_id "$merged"), status $(jq -r .status "$merged")"
[ "$got_segs" = "$want_segs" ] || fail=1
jq -r '.notes[]? | select(test("skew"))' "$merged"
printf '%-40s %-6s %9s %9s %-6s %s\n' check status samples "sum segs" single ok
for name in $(jq -r '.checks[] | .name' "$merged"); do
  st="$(jq -r --arg c "$name" '.checks[] | select(.name==$c) | .status' "$merged")"
  ms="$(jq -r --arg c "$name" '.checks[] | select(.name==$c) | .samples // 0' "$merged")"
  ss=0
  for f in "${parts[@]}"; do ss=$((ss + $(jq -r --arg c "$name" '[.checks[] | select(.name==$c) | .samples // 0] | add // 0' "$f"))); done
  one="$(jq -r --arg c "$name" '.checks[] | select(.name==$c) | .status' "$single")"
  ok=yes
  { [ "$ms" = "$ss" ] && [ -n "$one" ]; } || { ok=NO; fail=1; }
  printf '%-40s %-6s %9s %9s %-6s %s\n' "$name" "$st" "$ms" "$ss" "${one:-absent}" "$ok"
done
mc="$(jq '.checks | length' "$merged")"
sc="$(jq '.checks | length' "$single")"
[ "$mc" = "$sc" ] || { echo "merged has $mc checks, the single run $sc"; fail=1; }

echo
echo "== merge refuses the set with segment $n/$n missing"
mkdir -p "$out/partial"
for i in $(seq 0 $((n - 2))); do cp -r "$results/$run_id/segment-$i" "$out/partial/"; done
code=0
timeout 30 "$bin" merge --from "$out/partial" --out "$out/partial-merged" >"$out/partial.txt" 2>&1 || code=$?
echo "exit $code: $(grep 'goldenpath merge:' "$out/partial.txt" | head -1 | cut -c1-200)"
[ "$code" = 2 ] || fail=1

echo
if [ "$fail" = 0 ]; then
  echo "distributed-local.sh $n: every comparison holds"
else
  echo "distributed-local.sh $n: A COMPARISON FAILED (logs in $out)"
fi
exit "$fail"
