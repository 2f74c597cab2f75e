#!/usr/bin/env bash
# bench-backoff.sh: issue 9, point 14 (docs/benchmarks.md). A target that refuses every login
# (bench/refuser: ready, but 501 to everything else) is loaded by 2 users for 2 s with
# `--suite integrated`; the refuser counts the logins it got. Failed journeys back off (bounded,
# jittered), so the users must not hammer it. With BEFORE_REV (e.g. 097d0ff, the last commit
# without back-off) that revision is built in a temporary worktree and run side by side, run for
# run, so the before and after figures come from one machine in one spell.
#
# Usage: scripts/bench-backoff.sh [RUNS] [BEFORE_REV]   (default 3 runs; each takes about 2 s)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
before="${2:-}"
out=bench-out/backoff
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD)) and bench/refuser"
go build -o "$out/goldenpath" ./cmd/goldenpath
go build -o "$out/refuser" ./bench/refuser
sides=(after)
if [ -n "$before" ]; then
  wt="$(mktemp -d)"
  trap 'git worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
  git worktree add --detach "$wt" "$before" >/dev/null
  echo "== building goldenpath at $before (before)"
  (cd "$wt" && go build -o "$OLDPWD/$out/goldenpath-before" ./cmd/goldenpath)
  sides=(before after)
fi
printf 'refused-1@example.test,password-1\nrefused-2@example.test,password-2\n' >"$out/users.csv"

# one SIDE RUN: prints "logins journeys" of one 2 s run.
one() {
  local side=$1 i=$2 bin="$out/goldenpath" dir="$out/$1-$2"
  [ "$side" = before ] && bin="$out/goldenpath-before"
  mkdir -p "$dir"
  "$out/refuser" >"$dir/refuser.txt" &
  local pid=$!
  local url=""
  for _ in $(seq 50); do
    url="$(head -1 "$dir/refuser.txt" 2>/dev/null || true)"
    [ -n "$url" ] && break
    sleep 0.1
  done
  "$bin" run --target "$url" --users-file "$out/users.csv" --users 2 --duration 2s --suite integrated \
    --max-users 0 --quiet --out "$dir" >"$dir/stdout.txt" 2>"$dir/stderr.txt" || true
  kill -TERM "$pid"
  wait "$pid" || true
  local logins journeys
  logins="$(awk '$2 == "POST" && $3 == "/api/v1/auth/login" {print $1}' "$dir/refuser.txt")"
  journeys="$(grep -o '"journeys": *[0-9]*' "$dir/results.json" | head -1 | grep -o '[0-9]*$')"
  echo "${logins:-0} ${journeys:-0}"
}

for i in $(seq "$runs"); do
  for side in "${sides[@]}"; do
    read -r logins journeys < <(one "$side" "$i")
    echo "$side $logins $journeys" >>"$out/figures.txt"
    printf '%-6s run %d: %6d logins sent to a server refusing them, %6d journeys, 2 users, 2 s\n' "$side" "$i" "$logins" "$journeys"
  done
done
echo "== medians of $runs runs ($(git rev-parse --short HEAD))" | tee "$out/summary.txt"
for side in "${sides[@]}"; do
  awk -v s="$side" '$1 == s {print $2}' "$out/figures.txt" | sort -n |
    awk -v s="$side" '{v[NR]=$1} END {printf "%-6s median %d logins in 2 s (min %d, max %d)\n", s, v[int((NR+1)/2)], v[1], v[NR]}' | tee -a "$out/summary.txt"
done
grep -h "time spent failing" "$out"/after-1/report.md 2>/dev/null | head -1 | sed 's/^/after, report.md: /' | cut -c1-400 | tee -a "$out/summary.txt" || true
