package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

const runSynopsis = `
Drive golden-path users against a target and judge every phase against its
SLA: log in, open a WebSocket, ask an agent, check every event frame, read
the answer. Without --target, goldenpath starts its reference backend as a
child process on a free loopback port, with a temporary database and cheap
password hashes (bcrypt cost 4) so that many test users register in seconds.

Suites: integrated (every phase against its SLA); load (5, 10 and 15
users, a concurrency burst, the error rate, the target's memory per step,
and a capacity search that raises users until an SLA or the error budget
breaks); race (handshake, factory, config, isolation, cleanup, database and
ordering races, judged by oracles on every frame); memory (the target's
memory over cycles of load: bounds, leaks, counts back to baseline); and
regression (this build against a stored baseline, --baseline NAME).

Writes results.json and junit.xml to --out. Exit codes: 0 every check
passed, 1 a check failed (or the run was interrupted), 2 bad usage or
configuration, 3 the target is unreachable or not ready.`

type runOptions struct {
	target       string
	usersFile    string
	suites       string
	users        int
	duration     time.Duration
	rate         float64
	think        time.Duration
	slaFile      string
	out          string
	adminToken   string
	segment      string
	maxUsers     int
	stepDuration time.Duration
	runTimeout   time.Duration
	targetThink  time.Duration
	faults       string
	quiet        bool
	waitReady    time.Duration
	raceDetector bool
	regression   regressionFlags // the regression suite's flags (regression_flags.go)
}

func runFlags(o *runOptions, e *env) *flag.FlagSet {
	fs := newFlagSet("run", runSynopsis)
	fs.StringVar(&o.target, "target", "", "base `URL` of the target (e.g. http://127.0.0.1:8080); empty: start the embedded reference backend")
	fs.StringVar(&o.usersFile, "users-file", "", "CSV `FILE` of email,password accounts on the target; empty: register test users")
	fs.StringVar(&o.suites, "suite", strings.Join(suite.Names(), ","), "comma-separated `SUITES` to run")
	fs.IntVar(&o.users, "users", 10, "concurrent users of the integrated scenario (`N`)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario runs")
	fs.Float64Var(&o.rate, "rate", 0, "run the integrated scenario in the open model at `R` journeys per second (0: closed model)")
	fs.DurationVar(&o.think, "think", 0, "pause between one user's journeys (closed model)")
	fs.StringVar(&o.slaFile, "sla", "", "YAML `FILE` of SLA rules over the defaults, e.g. \"login: p95 < 5s\"")
	fs.StringVar(&o.out, "out", "goldenpath-report", "`DIR` for results.json and junit.xml")
	fs.StringVar(&o.adminToken, "admin-token", "", "admin `TOKEN` of the target, for checks that change its config (env GOLDENPATH_ADMIN_TOKEN)")
	fs.DurationVar(&o.waitReady, "wait-ready", 5*time.Second, "how long to wait for --target's /readyz before giving up (exit 3)")
	fs.StringVar(&o.segment, "segment", "1/1", "run only segment `i/n` of the load (merge the parts with goldenpath merge)")
	fs.IntVar(&o.maxUsers, "max-users", 160, "ceiling of the capacity search (`N`; 0 skips it)")
	fs.DurationVar(&o.stepDuration, "step-duration", 5*time.Second, "duration of each capacity-search step")
	fs.DurationVar(&o.runTimeout, "run-timeout", 60*time.Second, "longest wait for a run's terminal event")
	fs.DurationVar(&o.targetThink, "target-think", 200*time.Millisecond, "embedded backend: simulated model time per run")
	fs.StringVar(&o.faults, "fault", "", "embedded backend: `FAULTS` to switch on (see goldenpath serve -h)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	o.regression.register(fs)
	fs.BoolVar(&o.raceDetector, "race-detector", false, "embedded backend: build it from source with Go's race detector and report every data race it finds (needs the Go toolchain and the repository; memory checks are skipped)")
	return fs
}

func runMain(ctx context.Context, e *env, args []string) int {
	var o runOptions
	fs := runFlags(&o, e)
	if code, done := parse(fs, e, args); done {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "goldenpath run: "+format+"\n", a...)
		return ExitUsage
	}
	suites, err := suite.Lookup(splitList(o.suites))
	if err != nil {
		return fail("--suite: %v", err)
	}
	if len(suites) == 0 {
		return fail("--suite names no suite; known: %s", strings.Join(suite.Names(), ", "))
	}
	seg, err := load.ParseSegment(o.segment)
	if err != nil {
		return fail("--segment: %v", err)
	}
	switch {
	case o.users < 1:
		return fail("--users must be at least 1 (got %d)", o.users)
	case o.duration <= 0:
		return fail("--duration must be positive (got %s)", o.duration)
	case o.rate < 0 || o.maxUsers < 0 || o.think < 0 || o.stepDuration <= 0 || o.runTimeout <= 0:
		return fail("--rate, --max-users and --think must not be negative; --step-duration and --run-timeout must be positive")
	case o.target != "" && o.faults != "":
		return fail("--fault applies to the embedded backend only; drop it or drop --target")
	case o.target != "" && o.raceDetector:
		return fail("--race-detector builds and runs the embedded backend; it cannot instrument --target")
	}
	if _, err := fault.Parse(o.faults); err != nil {
		return fail("--fault: %v", err)
	}
	if err := o.regression.validate(); err != nil {
		return fail("%v", err)
	}
	o.adminToken = orEnv(o.adminToken, e, "GOLDENPATH_ADMIN_TOKEN")
	if o.target != "" {
		if u, err := url.Parse(o.target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail("--target %q is not an http(s) URL such as http://127.0.0.1:8080", o.target)
		}
	}
	sla := suite.DefaultSLA()
	if o.slaFile != "" {
		b, err := os.ReadFile(o.slaFile)
		if err != nil {
			return fail("--sla: %v", err)
		}
		if sla, err = suite.ParseSLA(b); err != nil {
			return fail("--sla %s: %v", o.slaFile, err)
		}
	}
	var accounts []journey.Account
	if o.usersFile != "" {
		if accounts, err = readUsersFile(o.usersFile); err != nil {
			return fail("--users-file: %v", err)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fail("--out: %v", err)
	}

	res := &report.Results{
		Schema: report.Schema, StartedAt: time.Now().UTC(),
		Tool:     report.Tool{Name: "goldenpath", Version: Version(), Go: runtime.Version(), CPUs: runtime.NumCPU()},
		Options:  report.Options{Suites: suiteNames(suites), Users: o.users, Duration: o.duration.String(), Rate: o.rate, Segment: seg.String(), SLA: sla.Lines()},
		Segments: []string{seg.String()},
	}

	// The target.
	base := o.target
	adminToken := o.adminToken
	embeddedPID := 0
	raceDir := ""
	stopEmbedded := func() {}
	if base == "" {
		eo := embedded.Options{Think: o.targetThink, Faults: o.faults, Stderr: e.stderr}
		if o.raceDetector {
			dir, err := os.MkdirTemp("", "goldenpath-race-")
			if err != nil {
				return fail("--race-detector: %v", err)
			}
			defer os.RemoveAll(dir)
			fmt.Fprintln(e.stderr, "goldenpath run: building the reference backend with the race detector (go build -race)...")
			wd, _ := os.Getwd()
			if err := embedded.BuildRace(ctx, wd, filepath.Join(dir, "goldenpath-race")); err != nil {
				return fail("%v", err)
			}
			eo.Binary, eo.Env = filepath.Join(dir, "goldenpath-race"), []string{embedded.RaceEnv(dir)}
			raceDir = dir
		}
		fmt.Fprintln(e.stderr, "goldenpath run: starting the embedded reference backend...")
		emb, err := embedded.Start(ctx, eo)
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath run: %v\n", err)
			return ExitUnreachable
		}
		stopEmbedded = func() {
			if err := emb.Stop(); err != nil {
				fmt.Fprintf(e.stderr, "goldenpath run: stopping the embedded backend: %v\n", err)
			}
		}
		defer func() { stopEmbedded() }()
		base, adminToken, embeddedPID = emb.URL, emb.AdminToken, emb.PID
		res.Target = report.Target{URL: base, Embedded: true, Faults: o.faults}
		res.Notes = append(res.Notes, fmt.Sprintf("embedded reference backend (pid %d) with bcrypt cost 4 so that test users register quickly; its login latency is not that of a production hash cost", emb.PID))
	} else {
		base = strings.TrimRight(base, "/")
		res.Target = report.Target{URL: base}
		if err := journey.WaitReady(ctx, base, o.waitReady); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath run: %v\n", err)
			return ExitUnreachable
		}
	}
	tgt, err := journey.NewTarget(base)
	if err != nil {
		return fail("%v", err)
	}
	// Idle pooled connections would hold the target's graceful shutdown.
	defer tgt.HTTP.CloseIdleConnections()

	env := &suite.Env{
		RaceBuild: o.raceDetector,
		Target:    tgt, AdminToken: adminToken, SLA: sla, Users: o.users, Duration: o.duration,
		Rate: o.rate, Think: o.think, MaxUsers: o.maxUsers, StepDuration: o.stepDuration,
		Segment: seg, RunTimeout: o.runTimeout,
		Regression: o.regression.options(o.target == "", o.faults),
	}
	if accounts == nil {
		need := max(o.users, 50, o.maxUsers, 15)
		fmt.Fprintf(e.stderr, "goldenpath run: registering %d test users...\n", need)
		if accounts, err = registerUsers(ctx, tgt, need); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath run: registering test users on %s: %v\n", base, err)
			if ctx.Err() != nil {
				return ExitFailed
			}
			return ExitUnreachable
		}
	}
	env.Accounts = accounts

	// The target monitor: its process when it is our child, its /metrics
	// when it has one.
	var sources []monitor.Source
	if embeddedPID > 0 {
		sources = append(sources, monitor.ProcSource(embeddedPID))
	}
	if code, _ := probeMetrics(ctx, tgt); code == 200 {
		// Its own client: closing the load's idle connections (the memory
		// suite does, before it counts the target's) leaves this one be.
		// One connection only: concurrent scrapes (the loop and the memory
		// suite's own samples) must not leave a second idle connection,
		// which would cost the target a goroutine and a descriptor.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxConnsPerHost = 1
		sources = append(sources, monitor.MetricsSource(base+"/metrics", &http.Client{Timeout: 5 * time.Second, Transport: tr}))
	}
	if len(sources) > 0 {
		mon, err := monitor.New(sources)
		if err != nil {
			return fail("monitor: %v", err)
		}
		mon.SampleNow(ctx) // the startup baseline, before any load
		mctx, stopMon := context.WithCancel(context.WithoutCancel(ctx))
		monDone := make(chan struct{})
		go func() { defer close(monDone); _ = mon.Run(mctx) }()
		defer func() { stopMon(); <-monDone }()
		env.Monitor = mon
	} else {
		res.Notes = append(res.Notes, "the target's memory cannot be watched (not our child process, no /metrics): memory checks are skipped")
	}
	clearProgress := func() {}
	if !o.quiet {
		env.Progress, clearProgress = newProgress(e.stderr)
	}

	// The suites.
	for _, s := range suites {
		fmt.Fprintf(e.stderr, "goldenpath run: suite %s\n", s.Name)
		stopped, err := s.Run(ctx, env, func(sc report.Scenario) {
			res.Scenarios = append(res.Scenarios, sc)
			clearProgress()
			fmt.Fprintf(e.stderr, "  %-24s %6d journeys  %6.1f/s  %d failed\n", sc.Name, sc.Journeys, sc.Throughput, sc.Failed)
		})
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath run: suite %s: %v\n", s.Name, err)
			return ExitUsage
		}
		if stopped || ctx.Err() != nil {
			res.Interrupted = true
			break
		}
	}
	if raceDir != "" {
		// The race logs are complete once the backend has exited.
		stopEmbedded()
		stopEmbedded = func() {}
		races, err := embedded.ReadRaces(raceDir)
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath run: reading the race detector's logs: %v\n", err)
		}
		res.Scenarios = append(res.Scenarios, suite.RaceDetectorScenario(races))
	}
	res.FinishedAt = time.Now().UTC()
	if env.Monitor != nil {
		res.TargetMemory = memoryPoints(env.Monitor.Series(), res.StartedAt)
	}
	res.Phases = report.MergePhases(res.Scenarios)
	if err := suite.Evaluate(res, sla); err != nil {
		return fail("%v", err)
	}
	if err := report.WriteAll(o.out, res); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath run: writing reports: %v\n", err)
		return ExitFailed
	}
	report.WriteSummary(e.stdout, res)
	fmt.Fprintf(e.stdout, "\nreports: %[1]s/results.json, %[1]s/junit.xml, %[1]s/report.md, %[1]s/report.html\n", o.out)
	switch {
	case res.Interrupted:
		fmt.Fprintln(e.stderr, "goldenpath run: interrupted; partial results written")
		return ExitFailed
	case res.Failed():
		return ExitFailed
	}
	return ExitOK
}

func suiteNames(ss []suite.Suite) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readUsersFile reads email,password lines (a header line "email,password"
// is allowed).
func readUsersFile(path string) ([]journey.Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	var out []journey.Account
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (want email,password on each line)", path, err)
		}
		if line == 1 && strings.EqualFold(rec[0], "email") {
			continue
		}
		if !strings.Contains(rec[0], "@") || rec[1] == "" {
			return nil, fmt.Errorf("%s:%d: want email,password; got %q", path, line, strings.Join(rec, ","))
		}
		out = append(out, journey.Account{Email: rec[0], Password: rec[1]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no accounts", path)
	}
	return out, nil
}

// registerUsers creates n fresh test accounts, 32 at a time.
func registerUsers(ctx context.Context, t *journey.Target, n int) ([]journey.Account, error) {
	tag := fmt.Sprintf("%x", time.Now().UnixNano())
	accts := make([]journey.Account, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 32)
	for i := range accts {
		accts[i] = journey.Account{Email: fmt.Sprintf("gp-%s-%d@example.test", tag, i), Password: "gp-pass-" + tag}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := journey.Register(ctx, t, accts[i]); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return accts, first
}

// probeMetrics reports the status of GET /metrics on the target.
func probeMetrics(ctx context.Context, t *journey.Target) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.BaseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// memoryPoints turns the monitor's samples into the results' series.
func memoryPoints(ss []monitor.Sample, start time.Time) []report.MemoryPoint {
	out := make([]report.MemoryPoint, 0, len(ss))
	for _, s := range ss {
		p := report.MemoryPoint{T: s.T.Sub(start).Seconds(), Goroutines: s.Metrics["go_goroutines"],
			Connections: s.Metrics["goldenpath_active_connections"], FDs: s.Metrics["process_open_fds"]}
		switch {
		case s.HasProc:
			p.RSS, p.FDs = float64(s.RSS), float64(s.FDs)
		default:
			p.RSS = s.Metrics["process_resident_memory_bytes"]
		}
		if p.RSS > 0 {
			out = append(out, p)
		}
	}
	return out
}
