package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Merge combines the results of the segments of one test. Scenarios of the
// same name merge their raw metrics (losslessly) and take the longest
// duration (every segment records the whole test's users and rate); checks are left for the caller to judge
// again. Parts must share the schema, the suites and the SLA, and no
// segment may appear twice.
func Merge(parts []*Results) (*Results, error) {
	if len(parts) == 0 {
		return nil, errors.New("report: nothing to merge")
	}
	first := parts[0]
	out := &Results{
		Schema: Schema, Tool: first.Tool, Target: first.Target, Options: first.Options,
		StartedAt: first.StartedAt, FinishedAt: first.FinishedAt,
	}
	seen := map[string]bool{}
	idx := map[string]int{}
	for _, p := range parts {
		if !slices.Equal(p.Options.Suites, first.Options.Suites) || !slices.Equal(p.Options.SLA, first.Options.SLA) {
			return nil, fmt.Errorf("report: segment %s ran other suites or SLAs than %s; merge only parts of one test", strings.Join(p.Segments, ","), strings.Join(first.Segments, ","))
		}
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
	return out, nil
}
