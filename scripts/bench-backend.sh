#!/usr/bin/env bash
# bench-backend.sh: the reference backend's speed figures (docs/benchmarks.md).
# The load comes from the test process; the server runs in a child process on
# loopback, so its memory is measured apart from the load generator's.
# Usage: scripts/bench-backend.sh [COUNT]   (default 5 runs of each benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
out=bench-out
mkdir -p "$out"
echo "== throughput: runs on open connections, connect-request-close cycles (count $count)"
go test -run '^$' -bench 'RunsOnOpenConnections|ConnectRequestClose' -benchtime 3s -count "$count" \
  ./internal/backend/server/ | tee "$out/throughput.txt"
echo "== login throughput against the bcrypt cost"
go test -run '^$' -bench 'BenchmarkLogin' -benchtime 2s -count 3 ./internal/backend/server/ | tee "$out/login.txt"
echo "== memory per idle connection (2,000 idle connections), 10,000 concurrent streams"
go test -run '^$' -bench 'IdleConnectionMemory|TenThousandStreams' -benchtime 1x -count "$count" \
  ./internal/backend/server/ | tee "$out/memory.txt"
echo "== store and runner micro-benchmarks"
go test -run '^$' -bench 'StartRunAppend' -benchtime 2s -count 3 ./internal/backend/sqlite/ | tee "$out/sqlite.txt"
go test -run '^$' -bench 'RunZeroThink' -benchtime 1s -count 3 ./internal/backend/agent/ | tee "$out/agent.txt"
echo "raw results in $out/"
