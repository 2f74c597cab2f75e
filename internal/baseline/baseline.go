package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Schema is the version tag of a baseline file; a change that breaks
// readers bumps it.
const Schema = "goldenpath.baseline/v1"

// Baseline is a stored measurement in rounds: what a later run is compared
// with.
type Baseline struct {
	Schema    string    `json:"schema"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Env is what measured the rounds.
	Env Environment `json:"environment"`
	// Settings are what the rounds ran with; a comparison needs both sides
	// to share them.
	Settings Settings `json:"settings"`
	// Rounds is how many rounds were measured.
	Rounds int `json:"rounds"`
	// Metrics holds each catalog metric's value in every round that
	// measured it, in round order (see [Catalog] for names and units).
	Metrics map[string][]float64 `json:"metrics"`
	// Histograms holds each phase's latencies over all rounds, merged
	// (HdrHistogram V2, nanoseconds, as in results.json); burst phases
	// carry [BurstPrefix].
	Histograms map[string]*metrics.Histogram `json:"histograms"`
	// Memory is the target's memory over the rounds, when it was watched.
	Memory Memory `json:"memory"`
	// Errors counts the journeys of every round and how they failed.
	Errors Errors `json:"errors"`
}

// Environment describes what took a measurement.
type Environment struct {
	Goldenpath string `json:"goldenpath"`         // goldenpath's version
	Commit     string `json:"commit,omitempty"`   // its VCS revision, where the build knows it
	Modified   bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Go         string `json:"go"`                 // the Go release goldenpath was built with
	Platform   string `json:"platform"`           // GOOS/GOARCH
	CPUs       int    `json:"cpus"`               // logical CPUs of the load generator's machine
	// TargetURL is the target loaded; TargetVersion its version when it
	// reports one (the "version" of its /healthz), else empty.
	TargetURL     string `json:"target_url,omitempty"`
	TargetVersion string `json:"target_version,omitempty"`
	// Embedded says the target was goldenpath's reference backend, with
	// Faults switched on.
	Embedded bool   `json:"embedded,omitempty"`
	Faults   string `json:"faults,omitempty"`
}

// Settings are the parameters of the rounds: two measurements compare only
// if they share them.
type Settings struct {
	Users      int    `json:"users"`       // users of each steady round
	Round      string `json:"round"`       // length of each steady round, a Go duration
	BurstUsers int    `json:"burst_users"` // simultaneous users of each burst
}

// Mismatch describes how o differs from s, or returns "" when they match.
func (s Settings) Mismatch(o Settings) string {
	var d []string
	if s.Users != o.Users {
		d = append(d, fmt.Sprintf("%d users against %d", s.Users, o.Users))
	}
	if s.Round != o.Round {
		d = append(d, fmt.Sprintf("%s rounds against %s", s.Round, o.Round))
	}
	if s.BurstUsers != o.BurstUsers {
		d = append(d, fmt.Sprintf("bursts of %d users against %d", s.BurstUsers, o.BurstUsers))
	}
	return strings.Join(d, ", ")
}

// Memory is the target's memory over the rounds.
type Memory struct {
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"` // the highest peak of any round
	Rounds  int   `json:"rounds_measured"`          // rounds whose memory was watched
}

// Errors counts journeys over every round, steady and burst.
type Errors struct {
	Journeys int64            `json:"journeys"`
	Failed   int64            `json:"failed"`
	Rate     float64          `json:"rate"`              // failed / journeys, 0 to 1
	Classes  map[string]int64 `json:"classes,omitempty"` // error class -> journeys, as in results.json
}

// CurrentEnvironment describes this goldenpath build and machine; the
// caller fills in the target's fields.
func CurrentEnvironment() Environment {
	env := Environment{Goldenpath: "devel", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return env
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		env.Goldenpath = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			env.Commit = s.Value
		case "vcs.modified":
			env.Modified = s.Value == "true"
		}
	}
	if env.Goldenpath == "devel" && len(env.Commit) >= 12 {
		env.Goldenpath += "+" + env.Commit[:12]
	}
	return env
}

// New builds a baseline from the round scenarios among scs (see [Rounds]);
// it is an error if there are none.
func New(scs []results.Scenario, env Environment, set Settings, at time.Time) (*Baseline, error) {
	rounds := Rounds(scs)
	steady := 0
	for _, r := range rounds {
		if r.Steady != nil {
			steady++
		}
	}
	if steady == 0 {
		return nil, errors.New("baseline: no rounds to build a baseline from (run the regression suite: --suite regression)")
	}
	hs, err := mergedHistograms(rounds)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &Baseline{Schema: Schema, CreatedAt: at.UTC(), Env: env, Settings: set, Rounds: steady,
		Metrics: Samples(scs), Histograms: hs, Errors: Errors{Classes: map[string]int64{}}}
	for _, r := range rounds {
		for _, sc := range []*results.Scenario{r.Steady, r.Burst} {
			if sc == nil {
				continue
			}
			c := sc.Metrics.Counters
			b.Errors.Journeys += c["journeys"]
			b.Errors.Failed += c["failed"]
			for k, v := range c {
				if class, ok := strings.CutPrefix(k, results.CounterErrorPrefix); ok {
					b.Errors.Classes[class] += v
				}
			}
		}
	}
	if b.Errors.Journeys > 0 {
		b.Errors.Rate = float64(b.Errors.Failed) / float64(b.Errors.Journeys)
	}
	if rss := b.Metrics[MetricPeakRSS]; len(rss) > 0 {
		b.Memory.Rounds = len(rss)
		b.Memory.PeakRSS = int64(slices.Max(rss) * (1 << 20))
	}
	return b, nil
}

// FromResults builds a baseline from the results of a run (or a merge, or a
// live comparison) that carried rounds. The environment is the results'
// tool; the round length is worked out from the run's --duration as the
// regression suite does.
func FromResults(r *results.Results) (*Baseline, error) {
	rounds := Rounds(r.Scenarios)
	set := Settings{}
	k := 0
	for _, rd := range rounds {
		if rd.Steady != nil {
			k++
			set.Users = max(set.Users, rd.Steady.Users)
		}
		if rd.Burst != nil {
			set.BurstUsers = max(set.BurstUsers, rd.Burst.Users)
		}
	}
	if d, err := time.ParseDuration(r.Options.Duration); err == nil && k > 0 {
		set.Round = RoundDuration(d, k).String()
	}
	env := Environment{Goldenpath: r.Tool.Version, Go: r.Tool.Go, CPUs: r.Tool.CPUs,
		TargetURL: r.Target.URL, Embedded: r.Target.Embedded, Faults: r.Target.Faults}
	if _, rev, ok := strings.Cut(r.Tool.Version, "+"); ok {
		env.Commit = rev
	}
	b, err := New(r.Scenarios, env, set, r.StartedAt)
	if err != nil {
		return nil, fmt.Errorf("baseline: the results carry no rounds (run goldenpath with --suite regression, or goldenpath compare --a/--b)")
	}
	return b, nil
}

// Write writes b as indented JSON.
func Write(w io.Writer, b *Baseline) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// Save writes b to path (creating its directory), through a temporary file
// renamed into place, so a reader never sees half a file.
func Save(path string, b *Baseline) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, b); err != nil {
		return fmt.Errorf("baseline: encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

// Path is where the baseline called name lives in dir.
func Path(dir, name string) string { return filepath.Join(dir, name+".json") }

// ValidName reports whether name can name a baseline file: letters, digits,
// '.', '-' and '_', not starting with '.'.
func ValidName(name string) error {
	if name == "" || name[0] == '.' || len(name) > 100 {
		return fmt.Errorf("baseline: name %q must be 1 to 100 letters, digits, '.', '-' or '_', not starting with '.'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("baseline: name %q must be 1 to 100 letters, digits, '.', '-' or '_', not starting with '.'", name)
		}
	}
	return nil
}

// Load reads a baseline file, or the results.json of a run that carried
// rounds (see [FromResults]). A missing file is an error that wraps
// [fs.ErrNotExist], names the path and says how to create one; a file of
// another schema is an error that names both schemas.
func Load(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		return nil, fmt.Errorf("baseline: no baseline at %s; create one with `goldenpath run --suite regression --save-baseline %s --baseline-dir %s`: %w",
			path, name, filepath.Dir(path), fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b, err := Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if b.Name == "" {
		b.Name = strings.TrimSuffix(filepath.Base(path), ".json")
	}
	return b, nil
}

// Read reads a baseline written by [Write], or results.json with rounds.
func Read(rd io.Reader) (*Baseline, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("baseline: not a baseline file (JSON with \"schema\": %q): %w", Schema, err)
	}
	switch head.Schema {
	case Schema:
	case results.Schema, results.SchemaV1:
		r, err := results.ReadJSON(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		b, err := FromResults(r)
		if err == nil && len(b.Metrics) == 0 { // as for a baseline file: it could not be read back
			return nil, errors.New("baseline: the results' rounds hold no metrics")
		}
		return b, err
	default:
		return nil, fmt.Errorf("baseline: schema %q, want %q (a baseline) or %q (results with rounds)", head.Schema, Schema, results.Schema)
	}
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if len(b.Metrics) == 0 {
		return nil, errors.New("baseline: the file holds no metrics")
	}
	for name, vs := range b.Metrics {
		if len(vs) == 0 {
			return nil, fmt.Errorf("baseline: metric %q has no values", name)
		}
	}
	return &b, nil
}
