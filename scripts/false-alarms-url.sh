#!/usr/bin/env bash
# false-alarms-url.sh BIN OUT COUNT: the url mode of scripts/bench-false-alarms.sh (issue 9).
# Starts `BIN serve` on its own on a free loopback port — a target goldenpath reaches by URL and
# whose memory it reads from /metrics, as a user's own server — runs COUNT clean runs of
# --suite integrated,race,memory against it, then restarts it with memory-leak=16KiB for
# max(2, COUNT/4) memory runs that must fail memory_leak_detection. Prints the summary.
set -euo pipefail
bin=$1 out=$2 count=$3
leaks=$((count / 4))
[ "$leaks" -lt 2 ] && leaks=2
token=bench-admin-token-0123456789
common=(--duration 2s --users 5 --max-users 0 --run-timeout 3s --quiet --admin-token "$token")
server_pid=

# serve NAME ARGS...: starts the reference backend on its own (not goldenpath's child) and sets $url.
serve() {
  local name=$1
  shift
  mkdir -p "$out/$name-data"
  "$bin" serve --addr 127.0.0.1:0 --data "$out/$name-data" --hash-cost 4 --think 50ms \
    --admin-token "$token" --log-level warn "$@" >"$out/$name-serve.txt" 2>&1 &
  server_pid=$!
  url=
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out/$name-serve.txt" | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "goldenpath serve printed no URL:" >&2
    cat "$out/$name-serve.txt" >&2
    exit 1
  fi
  echo "== $name server at $url (pid $server_pid, its own process)"
}
stop() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop EXIT

# one NAME ARGS...: a run into $out/NAME, its exit code and seconds in $out/NAME/run.txt.
one() {
  local name=$1
  shift
  mkdir -p "$out/$name"
  local start=$SECONDS rc=0
  "$bin" run --target "$url" "$@" "${common[@]}" --out "$out/$name" >"$out/$name/stdout.txt" 2>"$out/$name/stderr.txt" || rc=$?
  echo "exit=$rc seconds=$((SECONDS - start))" >"$out/$name/run.txt"
  echo "  $name: exit $rc after $((SECONDS - start))s"
}

serve clean
echo "$bin run --target $url --suite integrated,race,memory ${common[*]/$token/\$TOKEN}" >"$out/commands.txt"
for i in $(seq 1 "$count"); do
  echo "== clean run $i of $count"
  one "clean-$i" --suite integrated,race,memory
done
stop
serve leak --fault memory-leak=16KiB
echo "$bin run --target $url --suite memory ${common[*]/$token/\$TOKEN} (server: --fault memory-leak=16KiB)" >>"$out/commands.txt"
for i in $(seq 1 "$leaks"); do
  echo "== leaking run $i of $leaks"
  one "leak-$i" --suite memory
done
stop

echo "== summary"
python3 - "$out" "$count" "$leaks" <<'PY' | tee "$out/summary.txt"
import json, os, sys
from collections import Counter

out, count, leaks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def load(name):
    run = dict(kv.split("=") for kv in open(os.path.join(out, name, "run.txt")).read().split())
    try:
        res = json.load(open(os.path.join(out, name, "results.json")))
    except (OSError, ValueError):
        res = None
    return int(run["exit"]), int(run["seconds"]), res

def short(s, n=200):
    return s if len(s) <= n else s[: n - 3] + "..."

alarms, broken, secs, flagged, missed = Counter(), [], [], 0, []
checks, skips = set(), Counter()
for i in range(1, count + 1):
    code, s, res = load(f"clean-{i}")
    secs.append(s)
    if res is None or res.get("interrupted") or code not in (0, 1):
        broken.append(f"clean-{i} (exit {code})")
        continue
    failed = [c for c in res["checks"] if c["status"] == "fail"]
    for c in res["checks"]:
        checks.add(f'{c["suite"]}/{c["name"]}')
        if c["status"] == "skip":
            skips[f'{c["suite"]}/{c["name"]}: {short(c["evidence"], 120)}'] += 1
    if failed:
        flagged += 1
    for c in failed:
        alarms[f'{c["suite"]}/{c["name"]}'] += 1
        print(f'clean-{i}: fail {c["suite"]}/{c["name"]}: {short(c["evidence"])}')
peak = []
for i in range(1, count + 1):
    _, _, res = load(f"clean-{i}")
    for c in (res or {}).get("checks", []):
        if c["name"] == "memory_usage_bounded_under_load" and c["status"] == "pass":
            peak.append(c["observed"] / 2**20)
for i in range(1, leaks + 1):
    code, s, res = load(f"leak-{i}")
    if res is None or res.get("interrupted") or code not in (0, 1):
        broken.append(f"leak-{i} (exit {code})")
        continue
    c = next(c for c in res["checks"] if c["name"] == "memory_leak_detection")
    if c["status"] != "fail":
        missed.append(f"leak-{i}: {c['status']}: {short(c['evidence'])}")

xs = sorted(secs)
print()
print(f"clean server reached by URL, --suite integrated,race,memory: {flagged} of {count} runs with a failed check "
      f"({len(checks)} checks a run; median {xs[len(xs) // 2]}s, {xs[0]}-{xs[-1]}s per run)")
for k, n in sorted(alarms.items()):
    print(f"  {k}: failed in {n} runs")
for k, n in sorted(skips.items()):
    print(f"  skipped in {n} runs: {k}")
if peak:
    peak.sort()
    print(f"  peak RSS under load read from /metrics: median {peak[len(peak) // 2]:.1f} MiB ({peak[0]:.1f}-{peak[-1]:.1f})")
print(f"memory-leak=16KiB server reached by URL, --suite memory: memory_leak_detection failed in {leaks - len(missed)} of {leaks} runs")
for m in missed:
    print("  not flagged: " + m)
for b in broken:
    print("  did not complete: " + b)
PY
echo "raw results in $out/"
