package embedded

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// BuildRace builds the goldenpath binary with Go's race detector from the
// module in (or above) dir, into out. It needs the Go toolchain and the
// goldenpath source: a released binary cannot rebuild itself.
func BuildRace(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = dir
	gomod, err := cmd.Output()
	mod := strings.TrimSpace(string(gomod))
	if err != nil || mod == "" || mod == os.DevNull {
		return fmt.Errorf("embedded: --race-detector builds the reference backend from source with the Go toolchain: run it from the goldenpath repository (no Go module found from %s)", dir)
	}
	b, err := os.ReadFile(mod)
	if err != nil || !strings.Contains(string(b), "module github.com/goldenpath-dev/goldenpath") {
		return fmt.Errorf("embedded: --race-detector needs the goldenpath source; %s is another module", mod)
	}
	build := exec.CommandContext(ctx, "go", "build", "-race", "-o", out, "./cmd/goldenpath")
	build.Dir = filepath.Dir(mod)
	if msg, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("embedded: go build -race: %v\n%s", err, msg)
	}
	return nil
}

// Race is one data race the race detector reported, deduplicated by the
// places of its two accesses.
type Race struct {
	Signature string // "write at A / previous read at B"
	Count     int    // how many reports had this signature
	Report    string // the first full report, trimmed
}

// RaceEnv returns the GORACE setting that makes a race-built target write
// its reports to files under dir without stopping.
func RaceEnv(dir string) string {
	return "GORACE=log_path=" + filepath.Join(dir, "race") + " halt_on_error=0 exitcode=0"
}

// ReadRaces parses every race log under dir (files race.<pid>) into
// deduplicated races, most frequent first.
func ReadRaces(dir string) ([]Race, error) {
	files, err := filepath.Glob(filepath.Join(dir, "race.*"))
	if err != nil {
		return nil, err
	}
	byKey := map[string]*Race{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		for _, rep := range splitReports(fh) {
			sig := signature(rep)
			if r, ok := byKey[sig]; ok {
				r.Count++
				continue
			}
			byKey[sig] = &Race{Signature: sig, Count: 1, Report: trimReport(rep)}
		}
		fh.Close()
	}
	out := make([]Race, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Signature < out[j].Signature
	})
	return out, nil
}

func splitReports(f *os.File) []string {
	var reps []string
	var cur strings.Builder
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "WARNING: DATA RACE"):
			in = true
			cur.Reset()
		case in && strings.HasPrefix(line, "=================="):
			reps = append(reps, cur.String())
			in = false
		case in:
			cur.WriteString(line)
			cur.WriteByte('\n')
		}
	}
	return reps
}

// signature names a race by the first function of each access's stack,
// e.g. "Write at hub.(*Hub).startRun / Previous read at hub.(*Hub).startRun".
func signature(rep string) string {
	var parts []string
	lines := strings.Split(rep, "\n")
	for i, l := range lines {
		if (strings.HasPrefix(l, "Write at") || strings.HasPrefix(l, "Read at") ||
			strings.HasPrefix(l, "Previous write at") || strings.HasPrefix(l, "Previous read at")) && i+1 < len(lines) {
			what, _, _ := strings.Cut(l, " at ")
			fn := strings.TrimSpace(lines[i+1])
			if j := strings.LastIndex(fn, "/"); j >= 0 {
				fn = fn[j+1:]
			}
			fn = strings.TrimSuffix(fn, "()")
			parts = append(parts, what+" at "+fn)
		}
	}
	if len(parts) == 0 {
		return strings.SplitN(rep, "\n", 2)[0]
	}
	return strings.Join(parts, " / ")
}

func trimReport(rep string) string {
	if len(rep) > 3000 {
		return rep[:3000] + "\n..."
	}
	return rep
}
