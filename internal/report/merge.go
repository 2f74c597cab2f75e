package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Merge combines the results of the segments of one test. Scenarios of the
// same name merge their raw metrics (losslessly) and take the longest
// duration (every segment records the whole test's users and rate); checks are left for the caller to judge
// again. Parts must be of one test: the same split into n segments, each
// of 1/n to n/n exactly once (a missing one is named), the same target
// and the same options (suites, SLA, users, duration, ...; the one that
// differs is named).
func Merge(parts []*Results) (*Results, error) {
	if len(parts) == 0 {
		return nil, errors.New("report: nothing to merge")
	}
	if err := sameTest(parts); err != nil {
		return nil, err
	}
	first := parts[0]
	out := &Results{
		Schema: Schema, Tool: first.Tool, Target: first.Target, Options: first.Options,
		StartedAt: first.StartedAt, FinishedAt: first.FinishedAt,
	}
	seen := map[string]bool{}
	idx := map[string]int{}
	for _, p := range parts {
		for _, s := range p.Segments {
			if seen[s] {
				return nil, fmt.Errorf("report: segment %s appears twice", s)
			}
			seen[s] = true
			out.Segments = append(out.Segments, s)
		}
		if p.StartedAt.Before(out.StartedAt) {
			out.StartedAt = p.StartedAt
		}
		if p.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = p.FinishedAt
		}
		out.Interrupted = out.Interrupted || p.Interrupted
		out.Starts = append(out.Starts, p.Starts...)
		for _, n := range p.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		for _, sc := range p.Scenarios {
			i, ok := idx[sc.Name]
			if !ok {
				idx[sc.Name] = len(out.Scenarios)
				out.Scenarios = append(out.Scenarios, sc)
				continue
			}
			m := &out.Scenarios[i]
			if err := m.Metrics.Merge(sc.Metrics); err != nil {
				return nil, fmt.Errorf("report: scenario %s: %w", sc.Name, err)
			}
			// Every segment records the whole test's users and rate.
			m.Users = max(m.Users, sc.Users)
			m.Rate = max(m.Rate, sc.Rate)
			m.DurationS = max(m.DurationS, sc.DurationS)
			for _, s := range sc.Samples {
				if len(m.Samples) < 2*len(parts)+12 {
					m.Samples = append(m.Samples, s)
				}
			}
		}
	}
	out.Options.Segment = strings.Join(out.Segments, "+")
	if err := complete(out.Segments); err != nil {
		return nil, err
	}
	if n := startSkew(out.Starts); n != "" {
		out.Notes = append(out.Notes, n)
	}
	return out, nil
}

// startSkew says how far apart the segments of a run with a common start
// began their load, and which was latest; "" with fewer than two.
func startSkew(starts []SegmentStart) string {
	if len(starts) < 2 {
		return ""
	}
	first, last := starts[0], starts[0]
	for _, s := range starts[1:] {
		if s.At.Before(first.At) {
			first = s
		}
		if s.At.After(last.At) {
			last = s
		}
	}
	return fmt.Sprintf("segments began their load within %s of each other (the common start skew): the first, segment %s, %.0f ms after the start asked, the last, segment %s, %.0f ms after",
		last.At.Sub(first.At).Round(time.Millisecond), first.Segment, first.LateMS, last.Segment, last.LateMS)
}

// complete checks that segs, each "i/n" of one n, hold every segment
// from 1/n to n/n.
func complete(segs []string) error {
	n, have := 0, map[int]bool{}
	for _, s := range segs {
		i, c, ok := parseSegment(s)
		if !ok {
			return fmt.Errorf("report: segment %q is not i/n", s)
		}
		if n != 0 && c != n {
			return fmt.Errorf("report: segment %s belongs to a test split in %d, segment %s to one split in %d: merge the parts of one test", s, c, segs[0], n)
		}
		n, have[i] = c, true
	}
	var missing []string
	for i := 1; i <= n; i++ {
		if !have[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("report: segment %s missing: the parts given are %s of a test split in %d; merge every part, or it would be judged as the whole test",
			strings.Join(missing, ", "), strings.Join(segs, ", "), n)
	}
	return nil
}

func parseSegment(s string) (i, n int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	return i, n, found && err1 == nil && err2 == nil && n >= 1 && i >= 1 && i <= n
}

// sameTest checks that every part ran the same test as the first: the
// same target (an embedded backend's port aside: each segment starts its
// own) and the same options but the segment, naming what differs.
func sameTest(parts []*Results) error {
	first := parts[0]
	name := func(r *Results) string { return strings.Join(r.Segments, ",") }
	for _, p := range parts[1:] {
		if !slices.Equal(p.Options.Suites, first.Options.Suites) || !slices.Equal(p.Options.SLA, first.Options.SLA) {
			return fmt.Errorf("report: segment %s ran other suites or SLAs than %s; merge only parts of one test", name(p), name(first))
		}
		if d := differs(targetOf(first), targetOf(p)); d != "" {
			return fmt.Errorf("report: segment %s ran against another target than %s (%s); merge only parts of one test", name(p), name(first), d)
		}
		if d := differs(optionsOf(first), optionsOf(p)); d != "" {
			return fmt.Errorf("report: segment %s ran with other options than %s (%s); merge only parts of one test", name(p), name(first), d)
		}
	}
	return nil
}

func targetOf(r *Results) Target {
	t := r.Target
	if t.Embedded {
		t.URL = ""
	}
	return t
}

func optionsOf(r *Results) Options {
	o := r.Options
	o.Segment = ""
	return o
}

// differs names the JSON fields of a and b that differ, with both values,
// or returns "" when none does.
func differs(a, b any) string {
	fields := func(v any) map[string]string {
		raw, _ := json.Marshal(v)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = string(v)
		}
		return out
	}
	fa, fb := fields(a), fields(b)
	var keys []string
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if fa[k] != fb[k] {
			va, vb := fa[k], fb[k]
			if va == "" {
				va = "unset"
			}
			if vb == "" {
				vb = "unset"
			}
			out = append(out, fmt.Sprintf("%s %s against %s", k, va, vb))
		}
	}
	return strings.Join(out, "; ")
}
