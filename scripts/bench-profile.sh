#!/usr/bin/env bash
# bench-profile.sh: issue 10's proof that a profile-driven journey costs at most 1.2x the CPU of
# the built-in PROTOCOL v1 journey (docs/benchmarks.md). A reference backend runs as its own
# process (think 0, so the journeys are as fast as it answers), and BenchmarkJourneyCPU
# (internal/journey) measures this process's CPU per journey, v1 and the goldenpath profile side
# by side, COUNT times each, interleaved. The script prints each run, the medians and the ratio.
#
# Usage: scripts/bench-profile.sh [COUNT] [JOURNEYS]   (default 5 runs of 2000 journeys each)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
n="${2:-2000}"
out=bench-out/profile
rm -rf "$out"
mkdir -p "$out"
echo "== building goldenpath ($(git rev-parse --short HEAD))"
go build -o "$out/goldenpath" ./cmd/goldenpath
"$out/goldenpath" serve --addr 127.0.0.1:0 --data "$out/data" --think 0 --hash-cost 4 --log-level warn >"$out/serve.txt" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url="$(grep -o 'http://[0-9.:]*' "$out/serve.txt" | head -1 || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the backend did not start:"; cat "$out/serve.txt"; exit 1; }
echo "== backend at $url (pid $pid); $count runs of $n journeys per side, $(nproc) cores"
GOLDENPATH_BENCH_URL="$url" go test -run '^$' -bench BenchmarkJourneyCPU -benchtime "${n}x" -count "$count" ./internal/journey | tee "$out/bench.txt"
awk '
  /^BenchmarkJourneyCPU\// {
    name=$1; sub(/^BenchmarkJourneyCPU\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 1; i <= NF; i++) if ($(i+1) == "cpu-us/op") v[name] = v[name] " " $i
  }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    for (k in v) m[k] = median(v[k])
    for (variant in m) {
      split(variant, p, "/")
      if (p[2] != "v1") continue
      prof = p[1] "/profile"
      printf "%-5s v1 %7.1f us/journey  profile %7.1f us/journey  ratio %.2fx (runs:%s |%s)\n", p[1], m[variant], m[prof], m[prof] / m[variant], v[variant], v[prof]
    }
  }' "$out/bench.txt" | sort
