#!/usr/bin/env bash
# Proof of the regression detection (issue 5): live A/B comparisons of the
# embedded reference backend, COUNT trials a case (default 20):
#
#   clean        --fault-a none --fault-b none                    must flag nothing in >= 19 of 20
#   slow-db      --fault-a none --fault-b slow-db=$SLOW_DB           must be flagged in >= 19 of 20
#   slow-factory --fault-a none --fault-b slow-factory=$SLOW_FACTORY must be flagged in >= 19 of 20
#
# The faults are sized to make the golden path (journey p50, about 207 ms)
# about 30% slower: slow-db delays the 3 database calls on the journey's
# path by 20 ms each, slow-factory its one agent instantiation by 60 ms.
#
# Each trial is `goldenpath compare` with its defaults (6 rounds a side of
# 10 users for 2 s plus a burst of 50, interleaved A, B, B, A, ...; alpha
# 0.01; latency +20% and 1 ms, response time +50%, memory +30%, error +5
# points). A trial "flags" when compare exits 1. Prints, per case, the
# count flagged, the median shift of the metrics the fault moves, and the
# metrics flagged. Raw output in bench-out/regression/; docs/benchmarks.md
# has the figures.
#
#   scripts/bench-regression.sh [COUNT]
#   SLOW_DB=10ms SLOW_FACTORY=30ms CASES="clean slow-db" scripts/bench-regression.sh 3
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${1:-20}
SLOW_DB=${SLOW_DB:-20ms}
SLOW_FACTORY=${SLOW_FACTORY:-60ms}
CASES=${CASES:-clean slow-db slow-factory}
OUT=bench-out/regression
mkdir -p "$OUT"
go build -o "$OUT/goldenpath" ./cmd/goldenpath

# to_ms turns the table's durations (612µs, 1.20ms, 2.1s) into milliseconds.
to_ms() {
	awk '{ v = $1; if (v ~ /µs$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }'
}

median() {
	sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# shift_of prints, for a metric, the median over a case's trials of the old
# and the new side's medians.
shift_of() {
	local name=$1 metric=$2 old new
	old=$(awk -v m="$metric" '$1 == m { print $2 }' "$OUT/$name"-*.txt | to_ms | median)
	new=$(awk -v m="$metric" '$1 == m { print $5 }' "$OUT/$name"-*.txt | to_ms | median)
	awk -v m="$metric" -v o="$old" -v n="$new" 'BEGIN { if (o > 0) printf "%s %.3fms -> %.3fms (%+.0f%%)", m, o, n, (n / o - 1) * 100; else printf "%s n/a", m }'
}

run_case() {
	local name=$1 metrics=$2
	shift 2
	local flagged=0 errors=0
	for i in $(seq 1 "$COUNT"); do
		rm -f "$OUT/$name-$i.txt"
		set +e
		"$OUT/goldenpath" compare --quiet "$@" >"$OUT/$name-$i.txt" 2>&1
		code=$?
		set -e
		case $code in
		0) ;;
		1) flagged=$((flagged + 1)) ;;
		*) errors=$((errors + 1)) ;;
		esac
		echo "  $name trial $i: exit $code — $(tail -n 20 "$OUT/$name-$i.txt" | grep -E '^(no regression|[0-9]+ regressions?:)' || echo 'no table')"
	done
	local which shifts="" m
	which=$({ grep -h 'REGRESSION' "$OUT/$name"-*.txt || true; } | awk '{print $1}' | sort | uniq -c | sort -rn | awk '{printf "%s%s x%d", sep, $2, $1; sep=", "}')
	for m in $metrics; do
		shifts="$shifts${shifts:+; }$(shift_of "$name" "$m")"
	done
	printf '%-13s flagged %2d of %d (errors %d); %s; flagged metrics: %s\n' \
		"$name" "$flagged" "$COUNT" "$errors" "$shifts" "${which:-none}" | tee -a "$OUT/summary.txt"
}

echo "== goldenpath compare, $COUNT trials a case ($(date -u +%FT%TZ), $(nproc) CPUs, $(go version | awk '{print $3}'))" | tee "$OUT/summary.txt"
for c in $CASES; do
	case $c in
	clean) run_case clean "journey.p50 db_operation.p50" --fault-a none --fault-b none ;;
	slow-db) run_case slow-db "journey.p50 db_operation.p50 server_db.p50" --fault-a none --fault-b "slow-db=$SLOW_DB" ;;
	slow-factory) run_case slow-factory "journey.p50 first_event.p50" --fault-a none --fault-b "slow-factory=$SLOW_FACTORY" ;;
	*) echo "unknown case $c (clean, slow-db, slow-factory)" >&2; exit 2 ;;
	esac
done
echo "== summary"
cat "$OUT/summary.txt"
