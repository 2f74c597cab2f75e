package race

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

var errNoMetrics = errors.New("the target has no /metrics endpoint")

var gaugeRE = regexp.MustCompile(`(?m)^(goldenpath_active_connections|goldenpath_active_runs) ([0-9.eE+\-]+)$`)

// gauges reads the active-connection and active-run gauges from /metrics.
func gauges(ctx context.Context, t *journey.Target) (conns, runs float64, err error) {
	code, body, err := t.JSON(ctx, "GET", protocol.PathMetrics, "", nil, nil)
	if code == 404 {
		return 0, 0, errNoMetrics
	}
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, m := range gaugeRE.FindAllSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		if string(m[1]) == "goldenpath_active_connections" {
			conns = v
		} else {
			runs = v
		}
		found++
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("%w: it lacks goldenpath_active_connections or goldenpath_active_runs", errNoMetrics)
	}
	return conns, runs, nil
}

// raceCleanup disconnects clients at random points of their runs,
// reconnects them, and checks that the target's gauges come back to their
// baseline and that no event of an old run reaches a new connection.
func raceCleanup(ctx context.Context, e *suite.Env, n int, rt time.Duration) (results.Scenario, bool, error) {
	start := time.Now()
	set := metrics.NewSet()
	var ev evidence
	sample := ev.add
	baseConns, baseRuns, err := gauges(ctx, e.Target)
	switch {
	case errors.Is(err, errNoMetrics):
		set.Add(cSkipped, 1)
		return manual(scRaceCleanup, 0, set, start, []results.Sample{{Kind: "skipped", Detail: "skipped: the active gauges cannot be read: " + err.Error()}}), false, nil
	case err != nil: // the target offers /metrics and failed to serve it
		set.Add(cCleanupFailed, 1)
		return manual(scRaceCleanup, 0, set, start, []results.Sample{{Kind: "cleanup_error", Detail: "reading the baseline gauges: " + err.Error()}}), ctx.Err() != nil, nil
	}
	var wg sync.WaitGroup
	for u := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client's cycle is one of the scenario's journeys: it
			// fails with a cleanup error.
			failed := false
			defer func() { countJourney(set, failed) }()
			acct := e.Account(u)
			// First connection: ask, read a random number of frames, vanish.
			s, err := journey.Dial(ctx, e.Target, acct)
			if err != nil {
				failed = true
				set.Add(cCleanupFailed, 1)
				sample(results.Sample{Kind: "cleanup_error", Detail: err.Error()})
				return
			}
			mid := fmt.Sprintf("old-%d-%x", u, rand.Uint64())
			if err := s.Ask(mid, "soon abandoned "+mid, ""); err == nil {
				for range rand.IntN(4) {
					if _, err := s.Next(rt); err != nil {
						break
					}
				}
			}
			s.Abort()
			// Second connection: a new run; nothing of the old may arrive.
			s2, err := journey.Dial(ctx, e.Target, acct)
			if err != nil {
				failed = true
				set.Add(cCleanupFailed, 1)
				sample(results.Sample{Kind: "cleanup_error", Detail: "reconnect: " + err.Error()})
				return
			}
			mid2 := fmt.Sprintf("new-%d-%x", u, rand.Uint64())
			if err := s2.Ask(mid2, "after reconnect "+mid2, ""); err == nil {
				_, err = s2.Await(mid2, rt)
				if err != nil {
					failed = true
					set.Add(cCleanupFailed, 1)
					sample(results.Sample{Kind: "cleanup_error", Detail: "run after reconnect: " + err.Error()})
				}
			}
			for _, v := range s2.Close() {
				if v.Kind == journey.ViolationForeignMessage || v.Kind == journey.ViolationForeignUser {
					set.Add(cCleanupStale, 1)
					sample(results.Sample{Kind: "stale_event", Detail: v.Detail, Frame: v.Sample})
				}
			}
			set.Add(cCleanupCycles, 1)
		}()
	}
	wg.Wait()
	// The gauges must come back to the baseline within the bound.
	bound := rt + 5*time.Second
	deadline := time.Now().Add(bound)
	var conns, runs float64
	for {
		conns, runs, err = gauges(ctx, e.Target)
		if err == nil && conns <= baseConns && runs <= baseRuns {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			set.Add(cCleanupConnsOver, int64(max(0, conns-baseConns)))
			set.Add(cCleanupRunsOver, int64(max(0, runs-baseRuns)))
			sample(results.Sample{Kind: "gauges_stuck", Detail: fmt.Sprintf("%s after the last disconnect: active connections %g (baseline %g), active runs %g (baseline %g)", bound, conns, baseConns, runs, baseRuns)})
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return manual(scRaceCleanup, n, set, start, ev.list()), ctx.Err() != nil, nil
}

func judgeCleanup(sc *results.Scenario) (string, string) {
	c := sc.Metrics.Counters
	ev := fmt.Sprintf("%d clients dropped their connection at a random point of a run and reconnected: %d stale events on new connections, gauges over baseline afterwards: %d connections, %d runs",
		c[cCleanupCycles], c[cCleanupStale], c[cCleanupConnsOver], c[cCleanupRunsOver])
	if c[cCleanupCycles] == 0 {
		ev = "insufficient evidence: no client dropped its connection mid-run and reconnected (the check needs 1)"
	}
	if c[cCleanupFailed] > 0 {
		ev += fmt.Sprintf("; %d cycles failed", c[cCleanupFailed])
	}
	if s := suite.FirstSample(sc, "gauges_stuck", "stale_event", "cleanup_error"); s != "" {
		ev += "; e.g. " + s
	}
	if c[cCleanupCycles] == 0 || c[cCleanupStale] > 0 || c[cCleanupConnsOver] > 0 || c[cCleanupRunsOver] > 0 || c[cCleanupFailed] > 0 {
		return results.Fail, ev
	}
	return results.Pass, ev
}
