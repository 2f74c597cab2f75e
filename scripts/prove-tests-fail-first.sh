#!/usr/bin/env bash
# prove-tests-fail-first.sh: issue 9's proof "tests for points 1-8, each shown to fail before its
# fix". For each fix commit, the tests it added or changed are run twice: on the commit before it
# (its parent, with the fix commit's test files copied in) and on the fix commit itself. Each
# must fail before (a test failure, or a build failure when the tests use what the fix added) and
# pass after. Prints one line per point and writes bench-out/fail-first/summary.txt.
#
# Usage: scripts/prove-tests-fail-first.sh   (about 3-6 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out/fail-first
rm -rf "$out"
mkdir -p "$out"
# point | fix commit | packages | test name pattern
rows=(
  "1 memory of a URL target from /metrics|4e740cb|./internal/monitor/ ./internal/suite/memory/ ./internal/suite/|^(TestPeakResidentFromMetrics|TestCyclesMemoryFromMetrics|TestCyclesMissingReadings|TestBoundedUnderLoadWithoutReadings|TestNoMemorySource|TestScenarioPeakRSSFromMetrics|TestMemoryUnderLoad)\$"
  "2 memory growth judged on its own statistic|5a1647a|./internal/suite/memory/|^TestMemoryGrowth\$"
  "3-5 evidence first, every frame counts, writes read back|d2cca30|./internal/suite/ ./internal/suite/race/|^(TestReached|TestProtocolAndReadBackChecks|TestRaceChecksNeedEvidence|TestRaceChecksJudgeEveryFinding|TestFindingsFailIntegratedAndLoad|TestLostWritesFailIntegratedAndLoad)\$"
  "6a first regression run is a skip|6ea6fad|./internal/suite/regression/|^TestRegressionChecks\$"
  "6b unreadable race log fails|d2cca30|./internal/suite/race/|^TestRaceDetectorUnreadableLog\$"
  "7 users file too small|52331bd|.|^TestRunUsersFileTooSmall\$"
  "8 repro command repeats every changed option|989a987|. ./internal/report/|^(TestRunRecordsChangedOptions|TestWriteMarkdownReproduce)\$"
  "12 duplicate SLA rules, every phase nameable|6dc5f65|./internal/suite/|^(TestSLAEveryPhase|TestParseSLAErrors)\$"
)
wt="$(mktemp -d)"
trap 'git worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$wt" HEAD >/dev/null 2>&1
bad=0
for row in "${rows[@]}"; do
  IFS='|' read -r point fix pkgs pattern <<<"$row"
  files="$(git show --format= --name-only "$fix" -- '*_test.go')"
  verdict() { # DIR LOG: fail-test, fail-build or pass
    if (cd "$1" && go test -count=1 -run "$pattern" $pkgs) >"$2" 2>&1; then
      echo pass
    elif grep -qE '^(FAIL|---) ' "$2" && ! grep -q 'build failed\|setup failed' "$2"; then
      echo "fails (test)"
    else
      echo "fails (build: uses what the fix added)"
    fi
  }
  (cd "$wt" && git checkout -q --detach "$fix^" && git checkout -q "$fix" -- $files)
  before="$(verdict "$wt" "$out/${fix}-before.log")"
  (cd "$wt" && git checkout -q -f --detach "$fix")
  after="$(verdict "$wt" "$out/${fix}-after.log")"
  line="point $point ($fix): before the fix $before; with it $after"
  echo "$line" | tee -a "$out/summary.txt"
  case "$before/$after" in
  fails*/pass) ;;
  *) bad=1 ;;
  esac
done
exit $bad
