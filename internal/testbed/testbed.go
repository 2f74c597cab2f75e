// Package testbed makes a target ready for the suites: it starts the
// embedded reference backend (or waits for a target reached by URL),
// provisions the accounts the virtual users log in with, and watches the
// target's process and /metrics. It is the one bring-up path of
// `goldenpath run`, of `goldenpath compare`'s live sides, and of the
// public Run.
package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// Defaults of [Spec].
const (
	DefaultWaitReady   = 5 * time.Second
	DefaultTargetThink = 200 * time.Millisecond
)

// ErrUnreachable wraps every failure to reach the target, find it ready, or
// register its test users.
var ErrUnreachable = journey.ErrUnreachable

// Spec says which target to bring up and how.
type Spec struct {
	// URL is the target's base URL; empty starts the embedded reference
	// backend as a child process.
	URL string
	// Faults are the embedded backend's faults (docs/faults.md).
	Faults string
	// Think is the embedded backend's simulated model time per run; 0
	// means [DefaultTargetThink], a negative value none.
	Think time.Duration
	// RaceDetector builds the embedded backend with Go's race detector;
	// its findings are read by [Bed.Races].
	RaceDetector bool
	// Binary is the goldenpath executable that serves the embedded
	// backend; empty: this executable.
	Binary string
	// WaitReady bounds the wait for a URL target's /readyz (0:
	// [DefaultWaitReady]).
	WaitReady time.Duration
	// Accounts are the target's accounts to log in with; when empty,
	// Register test users are created.
	Accounts []journey.Account
	Register int
	// AdminToken is a URL target's admin token (the embedded backend's is
	// made up at start).
	AdminToken string
	// Log receives progress lines and the embedded backend's own log;
	// nil discards them.
	Log io.Writer
	// Label prefixes progress lines, e.g. "goldenpath run".
	Label string
	// Profile, when set, is what the target speaks (nil: PROTOCOL v1,
	// built in), with the secrets and origins it needs. The embedded
	// backend speaks Netra for the netra profile and makes up its bypass
	// key; the openai profile's {{.Model}}, when not given, is the first
	// model the target lists.
	Profile *journey.ProfileSpec
}

// AccountsFor is how many test users a run registers: enough for every
// virtual user of the largest scenario it may run (the integrated users,
// the concurrency burst of 50, the load suite's 15, and the capacity
// search's ceiling).
func AccountsFor(users, maxUsers int) int { return max(users, 50, maxUsers, 15) }

// Bed is a target made ready.
type Bed struct {
	Target     *journey.Target
	AdminToken string
	Accounts   []journey.Account
	// Monitor watches the target's process (when it is our child) and its
	// /metrics (when it has one); nil when neither can be watched.
	Monitor *monitor.Monitor
	// Embedded says the target is the reference backend goldenpath started;
	// PID is its process.
	Embedded bool
	PID      int
	// Profile is what the target speaks (nil: PROTOCOL v1), with the
	// bypass key and model filled in.
	Profile *journey.ProfileSpec
	URL     string
	Faults  string
	// Notes say what a reader of the results should know of the target.
	Notes []string

	log     io.Writer
	label   string
	backend *embedded.Backend
	raceDir string
	stops   []func() // run in reverse order by Close
	once    sync.Once
}

// Up brings the target up. On error nothing is left running. An error
// wrapping [ErrUnreachable] means the target could not be reached, made
// ready, or given its users; any other error is bad input.
func Up(ctx context.Context, s Spec) (*Bed, error) {
	if s.Log == nil {
		s.Log = io.Discard
	}
	if s.Label == "" {
		s.Label = "goldenpath"
	}
	b := &Bed{log: s.Log, label: s.Label, Faults: s.Faults}
	if err := b.up(ctx, s); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bed) up(ctx context.Context, s Spec) error {
	if err := b.start(ctx, s); err != nil {
		return err
	}
	var topts []journey.TargetOption
	if ps := s.Profile; ps != nil {
		spec := *ps
		if spec.BypassKey == "" && b.backend != nil {
			spec.BypassKey = b.backend.BypassKey
		}
		if spec.Model == "" && spec.Profile.Auth.APIKey {
			m, err := FirstModel(ctx, b.URL, spec.APIKey)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrUnreachable, err)
			}
			spec.Model = m
			b.Notes = append(b.Notes, "model "+m+" (the first of GET /v1/models; choose another with --model)")
		}
		b.Profile = &spec
		topts = append(topts, journey.WithProfile(spec))
	}
	tgt, err := journey.NewTarget(b.URL, topts...)
	if err != nil {
		return err
	}
	b.Target = tgt
	// Idle pooled connections would hold the target's graceful shutdown.
	b.stops = append(b.stops, tgt.HTTP.CloseIdleConnections)
	b.Accounts = s.Accounts
	if len(b.Accounts) == 0 {
		n := max(s.Register, 1)
		b.say(registering(b.Profile, n))
		if b.Accounts, err = Register(ctx, tgt, n, AccountPrefix(b.URL)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: registering test users on %s: %v", ErrUnreachable, b.URL, err)
		}
	}
	return b.watch(ctx)
}

func (b *Bed) say(format string, a ...any) {
	fmt.Fprintf(b.log, b.label+": "+format+"\n", a...)
}

// start starts the embedded backend, or waits for the URL's.
func (b *Bed) start(ctx context.Context, s Spec) error {
	if s.URL != "" {
		if s.Faults != "" || s.RaceDetector {
			return errors.New("testbed: faults and the race detector apply to the embedded backend only, not to a target given by URL")
		}
		b.URL, b.AdminToken = strings.TrimRight(s.URL, "/"), s.AdminToken
		wait := s.WaitReady
		if wait <= 0 {
			wait = DefaultWaitReady
		}
		return journey.WaitReady(ctx, b.URL, wait)
	}
	eo := embedded.Options{Binary: s.Binary, Think: s.Think, Faults: s.Faults, Stderr: s.Log}
	if s.Profile != nil && s.Profile.Profile.Name == "netra" {
		eo.Protocol, eo.BypassKey = "netra", s.Profile.BypassKey
	}
	switch {
	case s.Think == 0:
		eo.Think = DefaultTargetThink
	case s.Think < 0:
		eo.Think = 0
	}
	if s.RaceDetector {
		dir, err := os.MkdirTemp("", "goldenpath-race-")
		if err != nil {
			return fmt.Errorf("testbed: race detector: %v", err)
		}
		b.raceDir = dir
		b.stops = append(b.stops, func() { os.RemoveAll(dir) })
		b.say("building the reference backend with the race detector (go build -race)...")
		wd, _ := os.Getwd()
		bin := filepath.Join(dir, "goldenpath-race")
		if err := embedded.BuildRace(ctx, wd, bin); err != nil {
			return err
		}
		eo.Binary, eo.Env = bin, []string{embedded.RaceEnv(dir)}
	}
	if s.Faults != "" && s.Faults != "none" {
		b.say("starting the embedded reference backend with --fault %s...", s.Faults)
	} else {
		eo.Faults = ""
		b.say("starting the embedded reference backend...")
	}
	be, err := embedded.Start(ctx, eo)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	b.backend = be
	b.stops = append(b.stops, b.stopBackend)
	b.URL, b.AdminToken, b.PID, b.Embedded = be.URL, be.AdminToken, be.PID, true
	b.Notes = append(b.Notes, fmt.Sprintf("embedded reference backend (pid %d) with bcrypt cost 4 so that test users register quickly; its login latency is not that of a production hash cost", be.PID))
	return nil
}

func (b *Bed) stopBackend() {
	if b.backend == nil {
		return
	}
	if err := b.backend.Stop(); err != nil {
		b.say("stopping the embedded backend: %v", err)
	}
	b.backend = nil
}

// watch starts the monitor on what can be watched of the target.
func (b *Bed) watch(ctx context.Context) error {
	var sources []monitor.Source
	// The profile's memory source: metrics (its /metrics), proc (only the
	// process, when it is our child) or none; the embedded backend is our
	// child and is watched through its process unless none.
	memory := ""
	if b.Profile != nil {
		memory = b.Profile.Profile.Memory
	}
	if b.PID > 0 && memory != "none" {
		sources = append(sources, monitor.ProcSource(b.PID))
	}
	if memory == "none" || memory == "proc" {
		b.Notes = append(b.Notes, "profile "+b.Profile.Profile.Name+" says memory: "+memory+": the target's /metrics is not read")
	} else if code, _ := probe(ctx, b.Target, "/metrics"); code == http.StatusOK {
		// Its own client: closing the load's idle connections (the memory
		// suite does, before it counts the target's) leaves this one be.
		// One connection only: concurrent scrapes (the loop and the memory
		// suite's own samples) must not leave a second idle connection,
		// which would cost the target a goroutine and a descriptor.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxConnsPerHost = 1
		hc := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		sources = append(sources, monitor.MetricsSource(b.URL+"/metrics", hc))
		b.stops = append(b.stops, hc.CloseIdleConnections)
	}
	if len(sources) == 0 {
		b.Notes = append(b.Notes, "the target's memory cannot be watched (not our child process, no /metrics): memory checks are skipped")
		return nil
	}
	mon, err := monitor.New(sources)
	if err != nil {
		return fmt.Errorf("testbed: monitor: %v", err)
	}
	mon.SampleNow(ctx) // the startup baseline, before any load
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = mon.Run(mctx) }()
	b.stops = append(b.stops, func() { cancel(); <-done })
	b.Monitor = mon
	return nil
}

// Races stops the embedded backend (its race logs are complete only once
// it has exited) and returns the data races its race-built binary
// reported. ok is false when the bed was not built with the race detector.
func (b *Bed) Races() (races []embedded.Race, ok bool, err error) {
	if b.raceDir == "" {
		return nil, false, nil
	}
	b.stopBackend()
	races, err = embedded.ReadRaces(b.raceDir)
	return races, true, err
}

// Close stops the monitor and the embedded backend and removes what the
// bed made. It is safe to call more than once.
func (b *Bed) Close() {
	b.once.Do(func() {
		for _, f := range slices.Backward(b.stops) {
			f()
		}
		b.stops = nil
	})
}

// Register makes n test accounts on the target, 32 at a time, the way
// its profile says (nothing to register for a bypass login or an API
// key). Accounts are named by prefix and numbered from 0, with a password
// derived from the prefix: accounts that exist already (409) are logged
// into and reused, so that runs against one target with one prefix reuse
// the accounts an earlier run registered instead of adding more.
func Register(ctx context.Context, t *journey.Target, n int, prefix string) ([]journey.Account, error) {
	return RegisterMore(ctx, t, nil, n, prefix)
}

// RegisterMore is [Register] of accounts have[len(have)] to n-1 after the
// accounts have that Register made with the same prefix: it returns have
// followed by the new ones, n in all (have when it holds n already).
func RegisterMore(ctx context.Context, t *journey.Target, have []journey.Account, n int, prefix string) ([]journey.Account, error) {
	if n <= len(have) {
		return have, nil
	}
	sum := sha256.Sum256([]byte("goldenpath password of " + prefix))
	password := "gp-pass-" + hex.EncodeToString(sum[:8])
	accts := make([]journey.Account, n)
	copy(accts, have)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 32)
	for i := len(have); i < n; i++ {
		accts[i] = journey.Account{Email: fmt.Sprintf("%s-%d@example.test", prefix, i), Password: password}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := journey.ProfileRegister(ctx, t, accts[i]); err != nil {
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

// LoadProfile loads the profile nameOrFile with its secrets and origins;
// nil for the built-in PROTOCOL v1 (goldenpath, or "").
func LoadProfile(nameOrFile, authURL, bypassKey, apiKey, model string) (*journey.ProfileSpec, error) {
	if nameOrFile == "" || nameOrFile == "goldenpath" {
		return nil, nil
	}
	p, err := profile.Load(nameOrFile)
	if err != nil {
		return nil, err
	}
	if authURL != "" {
		if u, err := url.Parse(authURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("the auth URL %q is not an http(s) URL such as https://auth.example.com", authURL)
		}
	}
	return &journey.ProfileSpec{Profile: p, AuthURL: authURL, BypassKey: bypassKey, APIKey: apiKey, Model: model}, nil
}

// AccountPrefix is the stable account prefix of a target: runs against
// the same URL reuse the same accounts.
func AccountPrefix(url string) string {
	sum := sha256.Sum256([]byte(strings.TrimRight(url, "/")))
	return "gp-" + hex.EncodeToString(sum[:4])
}

// FreshPrefix is an account prefix no earlier run used.
func FreshPrefix() string { return fmt.Sprintf("gp-%x", time.Now().UnixNano()) }

// registering says what making n accounts means for a profile.
func registering(ps *journey.ProfileSpec, n int) string {
	switch {
	case ps != nil && ps.Profile.Auth.APIKey:
		return fmt.Sprintf("no accounts to register: profile %s sends an API key; %d virtual user names...", ps.Profile.Name, n)
	case ps != nil && ps.BypassKey != "" && ps.Profile.Auth.Bypass != nil:
		return fmt.Sprintf("no accounts to register: profile %s logs %d test users in with the bypass key...", ps.Profile.Name, n)
	}
	return fmt.Sprintf("registering %d test users...", n)
}

// FirstModel is the id of the first model GET /v1/models lists.
func FirstModel(ctx context.Context, baseURL, apiKey string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /v1/models: %v", err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /v1/models: HTTP %d; pass the model with --model (and --api-key if the server needs one)", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil || len(list.Data) == 0 || list.Data[0].ID == "" {
		return "", errors.New("GET /v1/models lists no model; pass one with --model")
	}
	return list.Data[0].ID, nil
}

// probe reports the status of GET path on the target.
func probe(ctx context.Context, t *journey.Target, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.BaseURL+path, nil)
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

// ReadAccounts reads a CSV file of email,password lines (a header line
// "email,password" is allowed).
func ReadAccounts(path string) ([]journey.Account, error) {
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
