#!/usr/bin/env bash
# bench-long.sh: issue 11's "bounded memory over long runs": one goldenpath run of JOURNEYS minimal
# journeys (--iterations) by USERS users against the reference backend in its own process
# (`serve --think 0`), with goldenpath's RSS read from /proc every 5 s. It prints the RSS series,
# then the RSS at the end of the warm-up (the first WARMUP of the run's time), the highest RSS
# after it and the last, and the growth after the warm-up per 100,000 journeys: flat is what the
# issue asks.
#
# Usage: scripts/bench-long.sh [JOURNEYS] [USERS] [WARMUP]   (default 1000000, 50, 0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
journeys="${1:-1000000}"
users="${2:-50}"
warmup="${3:-0.1}"
out=bench-out/long
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD))"
go build -o "$out/goldenpath" ./cmd/goldenpath

# shellcheck source=serve-backend.sh
. scripts/serve-backend.sh # the cd above put us at the root
serve "$out" --think 0

echo "== $journeys journeys by $users users, $(nproc) cores; RSS every 5 s"
"$out/goldenpath" run --target "$url" --journey minimal --suite integrated --users "$users" \
  --iterations "$journeys" --duration 3h --quiet --out "$out/report" >"$out/run.txt" 2>&1 &
gp=$!
start=$(date +%s)
while kill -0 "$gp" 2>/dev/null; do
  rss="$(awk '/^VmRSS/ {print $2}' "/proc/$gp/status" 2>/dev/null || true)"
  [ -n "$rss" ] && echo "t $(( $(date +%s) - start )) rss_kib $rss" | tee -a "$out/rss.txt"
  sleep 5
done
wait "$gp" || true
kill "$pid"; wait "$pid" 2>/dev/null || true

done_n="$(jq -r '.scenarios[] | select(.name=="integrated") | .journeys' "$out/report/results.json")"
failed="$(jq -r '.scenarios[] | select(.name=="integrated") | .failed' "$out/report/results.json")"
echo "== $done_n journeys ($failed failed) in $(tail -1 "$out/rss.txt" | awk '{print $2}') s"
awk -v w="$warmup" -v n="$done_n" '
  { t[NR] = $2; r[NR] = $4 }
  END {
    last = t[NR]; k = 1
    while (k < NR && t[k] < w * last) k++
    hi = r[k]; for (i = k; i <= NR; i++) if (r[i] > hi) hi = r[i]
    per = (r[NR] - r[k]) / 1024 / (n * (1 - w) / 100000)
    printf "rss after warm-up (%ds) %.1f MiB, highest after it %.1f MiB, last %.1f MiB; growth %.2f MiB per 100,000 journeys\n",
      t[k], r[k] / 1024, hi / 1024, r[NR] / 1024, per
  }' "$out/rss.txt" | tee "$out/summary.txt"
