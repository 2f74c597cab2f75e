package cli

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// abSide is one side of a live comparison.
type abSide struct {
	label       string // "A" (old) or "B" (new)
	url, faults string
	env         *suite.Env
	scs         []report.Scenario
	stops       []func() // run in reverse order when the comparison ends
}

func (s *abSide) String() string {
	if s.url != "" {
		return s.url
	}
	if s.faults == "" || s.faults == "none" {
		return "embedded reference backend (no fault)"
	}
	return "embedded reference backend with --fault " + s.faults
}

func (s *abSide) stop() {
	for _, f := range slices.Backward(s.stops) {
		f()
	}
	s.stops = nil
}

// compareLive measures two targets in interleaved rounds and compares
// them. A nil result comes with the exit code.
func compareLive(ctx context.Context, e *env, o *compareOptions, th baseline.Thresholds) (*report.Results, *baseline.Comparison, int) {
	start := time.Now().UTC()
	sides := []*abSide{{label: "A", url: o.a, faults: o.faultA}, {label: "B", url: o.b, faults: o.faultB}}
	defer func() {
		for _, s := range sides {
			s.stop()
		}
	}()
	for _, s := range sides {
		if code := s.start(ctx, e, o); code != ExitOK {
			return nil, nil, code
		}
	}
	say := func(format string, a ...any) {
		if !o.quiet {
			fmt.Fprintf(e.stderr, format, a...)
		}
	}
	for _, s := range sides {
		say("goldenpath compare: warming up %s (%s)\n", s.label, s)
		if err := suite.WarmUp(ctx, s.env); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
			return nil, nil, ExitUsage
		}
	}
	// A, B, B, A, A, B...: interleaved so that drift hits both sides, and
	// counterbalanced so that neither always goes first.
	for i := 1; i <= o.rounds; i++ {
		order := sides
		if i%2 == 0 {
			order = []*abSide{sides[1], sides[0]}
		}
		for _, s := range order {
			scs, stopped, err := suite.RunRound(ctx, s.env, i)
			s.scs = append(s.scs, scs...)
			if err != nil {
				fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
				return nil, nil, ExitUsage
			}
			if stopped || ctx.Err() != nil {
				fmt.Fprintln(e.stderr, "goldenpath compare: interrupted; nothing compared")
				return nil, nil, ExitFailed
			}
			for _, sc := range scs {
				say("  %s %-20s %5d journeys  %6.1f/s  %d failed\n", s.label, sc.Name, sc.Journeys, sc.Throughput, sc.Failed)
			}
		}
	}
	var bs [2]*baseline.Baseline
	for i, s := range sides {
		b, err := baseline.New(s.scs, s.env.Environment(ctx), suite.RoundSettings(s.env), start)
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath compare: side %s: %v\n", s.label, err)
			return nil, nil, ExitFailed
		}
		b.Name = s.label
		bs[i] = b
	}
	cmp, err := baseline.Compare(bs[0], bs[1], th)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
		return nil, nil, ExitUsage
	}
	res := compareResults(start, bs[1])
	res.Scenarios = append(sides[1].scs, suite.ComparisonScenario(bs[0], th, nil))
	res.Notes = append(res.Notes, fmt.Sprintf("live comparison: A (old) = %s, B (new) = %s; %d rounds a side, interleaved A, B, B, A, ...; the scenarios are B's, A's values are in %s",
		sides[0], sides[1], o.rounds, suite.ScenarioComparison))
	return res, cmp, ExitOK
}

// start brings the side's target up (an embedded backend, or a URL that
// must be ready), registers its test users and watches it when it can.
func (s *abSide) start(ctx context.Context, e *env, o *compareOptions) int {
	base := strings.TrimRight(s.url, "/")
	pid := 0
	if base == "" {
		if !o.quiet {
			fmt.Fprintf(e.stderr, "goldenpath compare: starting %s: %s...\n", s.label, s)
		}
		emb, err := embedded.Start(ctx, embedded.Options{Think: o.targetThink, Faults: s.faults, Stderr: e.stderr})
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath compare: side %s: %v\n", s.label, err)
			return ExitUnreachable
		}
		s.stops = append(s.stops, func() {
			if err := emb.Stop(); err != nil {
				fmt.Fprintf(e.stderr, "goldenpath compare: stopping side %s: %v\n", s.label, err)
			}
		})
		base, pid = emb.URL, emb.PID
	} else if err := journey.WaitReady(ctx, base, o.waitReady); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: side %s: %v\n", s.label, err)
		return ExitUnreachable
	}
	tgt, err := journey.NewTarget(base)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: side %s: %v\n", s.label, err)
		return ExitUsage
	}
	s.stops = append(s.stops, tgt.HTTP.CloseIdleConnections)
	s.env = &suite.Env{Target: tgt, SLA: suite.DefaultSLA(), Users: o.users, Duration: o.duration,
		RunTimeout: o.runTimeout, Segment: load.Whole,
		Regression: suite.RegressionOptions{Rounds: o.rounds, Embedded: s.url == "", Faults: s.faults}}
	if s.env.Accounts, err = registerUsers(ctx, tgt, max(o.users, 50)); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: side %s: registering test users on %s: %v\n", s.label, base, err)
		return ExitUnreachable
	}
	var sources []monitor.Source
	if pid > 0 {
		sources = append(sources, monitor.ProcSource(pid))
	}
	if code, _ := probeMetrics(ctx, tgt); code == http.StatusOK {
		sources = append(sources, monitor.MetricsSource(base+"/metrics", &http.Client{Timeout: 5 * time.Second}))
	}
	if len(sources) == 0 {
		return ExitOK
	}
	mon, err := monitor.New(sources)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: side %s: monitor: %v\n", s.label, err)
		return ExitUsage
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = mon.Run(mctx) }()
	s.stops = append(s.stops, func() { cancel(); <-done })
	s.env.Monitor = mon
	return ExitOK
}
