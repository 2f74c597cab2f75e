#!/usr/bin/env bash
# bench-stores.sh: the SQLite and PostgreSQL stores side by side
# (docs/benchmarks.md, "PostgreSQL store (issue 13)"). One benchmark body,
# storetest.RunBenchmark, on both stores: 1, 16 and 64 concurrent writers,
# batched (group commit) and one write per transaction. PostgreSQL runs in a
# throwaway cluster with its default durability (fsync on), or on the server
# GOLDENPATH_PG_URL names.
# Usage: scripts/bench-stores.sh [COUNT]   (default 5 runs of each benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
out=bench-out
mkdir -p "$out"
echo "== store writes, commit $(git rev-parse --short HEAD), $count rounds"
# Rounds rather than -count: each round runs every benchmark once, so that a
# slow spell of the machine (shared, two cores, one disk) falls on all of
# them alike rather than on the few that -count would run back to back.
: > "$out/stores.txt"
for round in $(seq "$count"); do
  echo "-- round $round of $count"
  go test -run '^$' -bench Writers -benchtime 2s -count 1 \
    ./internal/backend/sqlite/ ./internal/backend/postgres/ | tee -a "$out/stores.txt"
done
echo "== medians (runs/s; one run is a StartRun and an AppendMessage)"
awk '
  /^pkg:/ { store = ($2 ~ /postgres/) ? "postgres" : "sqlite" }
  /^BenchmarkWriters\// {
    name = store " " $1; sub(/-[0-9]+$/, "", name)
    for (i = 1; i <= NF; i++) if ($(i+1) == "runs/s") v[name] = v[name] " " $i
  }
  END {
    for (name in v) {
      n = split(substr(v[name], 2), xs, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (xs[j] + 0 < xs[i] + 0) { t = xs[i]; xs[i] = xs[j]; xs[j] = t }
      med = (n % 2) ? xs[(n + 1) / 2] : (xs[n / 2] + xs[n / 2 + 1]) / 2
      printf "%-52s median %10.1f runs/s  (%s to %s, %d runs)\n", name, med, xs[1], xs[n], n
    }
  }' "$out/stores.txt" | sort
echo "raw results in $out/stores.txt"
