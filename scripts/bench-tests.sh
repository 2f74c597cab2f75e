#!/usr/bin/env bash
# Issue 8's test-time figures: the README's `go test ./...` (the quick
# tests; the long proofs skip without GOLDENPATH_LONG_TESTS=1), COUNT times
# (default 3), on a warm build cache, with nothing else running. Prints each
# run's wall time and the median, the slowest packages of the last run, and
# the size of internal/cli's non-test Go code.
#
#   scripts/bench-tests.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${1:-3}
OUT=bench-out/tests
mkdir -p "$OUT"
go test -count=1 -run XXX ./... >/dev/null # warm the build cache: what is timed is the tests
times=()
for i in $(seq 1 "$COUNT"); do
  start=$(date +%s.%N)
  status=0
  go test -count=1 ./... >"$OUT/run-$i.txt" 2>&1 || status=$?
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf 'run %d: %.1f s (exit %d)\n' "$i" "$t" "$status"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
printf 'median of %d: %.1f s  (commit %s, %s cores)\n' "$COUNT" "$median" "$(git rev-parse --short HEAD)" "$(nproc)"
echo "slowest packages of the last run:"
grep -E '^(ok|FAIL)\s' "$OUT/run-$COUNT.txt" | awk '{print $3, $2}' | sort -rn | head -5 | sed 's/^/  /'
lines=$(cat $(ls internal/cli/*.go | grep -v _test.go) | wc -l)
echo "internal/cli non-test Go code: $lines lines"
