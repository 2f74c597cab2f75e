package report

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// The race condition catalog: for each failed check of the race or memory
// suite, who was affected, when it was first seen, and how to run it
// again.

func findingOf(r *Results, c Check) finding {
	var sc *Scenario
	for _, name := range strings.Split(c.Scenario, ",") {
		if i := slices.IndexFunc(r.Scenarios, func(s Scenario) bool { return s.Name == name }); i >= 0 {
			sc = &r.Scenarios[i]
			break
		}
	}
	f := finding{check: c, repro: reproCommand(r, c)}
	if sc == nil {
		f.affected, f.firstSeen = "not known: the results hold no scenario for this check", "not known"
		return f
	}
	f.samples = relevantSamples(sc.Samples, c.Evidence)
	f.samples = f.samples[:min(3, len(f.samples))]
	f.firstSeen = firstSeen(r, sc)
	if c.Suite == "memory" {
		f.affected = "every user of the target: the finding is about its one process"
		return f
	}
	var named []string
	add := func(u string) {
		if u != "" && !slices.Contains(named, u) {
			named = append(named, u)
		}
	}
	for _, s := range relevantSamples(sc.Samples, c.Evidence) {
		for _, u := range s.Users {
			add(userName(u))
		}
	}
	slices.Sort(named)
	running := ""
	if sc.Users > 0 {
		running = fmt.Sprintf("%d concurrent users ran in scenario %s", sc.Users, sc.Name)
	}
	switch {
	case len(named) > 8:
		f.affected = fmt.Sprintf("%d named in the samples, e.g. %s", len(named), strings.Join(named[:8], ", "))
	case len(named) > 0:
		f.affected = "named in the samples: " + strings.Join(named, ", ")
	default:
		f.affected = "the samples name no user"
	}
	if running != "" {
		f.affected += "; " + running
	}
	if n := sc.Failed; n > 0 {
		f.affected += fmt.Sprintf("; %d of %d journeys failed", n, sc.Journeys)
	}
	return f
}

// userName names u as the catalog lists it: "user u_3ca4", "virtual user
// 3", or "user u_3ca4 (virtual user 3)".
func userName(u User) string {
	var vu string
	if u.VirtualUser != nil {
		vu = "virtual user " + strconv.Itoa(*u.VirtualUser)
	}
	switch {
	case u.ID != "" && vu != "":
		return "user " + u.ID + " (" + vu + ")"
	case u.ID != "":
		return "user " + u.ID
	}
	return vu
}

// relevantSamples returns the samples whose kind the evidence names, else
// all of them.
func relevantSamples(ss []Sample, evidence string) []Sample {
	var out []Sample
	for _, s := range ss {
		if strings.Contains(evidence, strings.TrimPrefix(s.Kind, results.CounterViolationPrefix)) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = ss
	}
	return out
}

// firstSeen names the scenario and the first second of its series with a
// failure or violation, from the start of the run.
func firstSeen(r *Results, sc *Scenario) string {
	m := sc.Metrics
	at := -1
	for _, p := range m.Series {
		for k, v := range p.Counters {
			if v > 0 && (k == "failed" || strings.HasPrefix(k, results.CounterErrorPrefix) || strings.HasPrefix(k, results.CounterViolationPrefix)) {
				at = p.Second
				break
			}
		}
		if at >= 0 {
			break
		}
	}
	what := "scenario " + sc.Name
	if m.SeriesStart.IsZero() || len(m.Series) == 0 {
		return what
	}
	t := m.SeriesStart
	how := "which started"
	if at >= 0 {
		t, how = t.Add(time.Duration(at)*time.Second), "first failure at"
	}
	if !r.StartedAt.IsZero() {
		off := t.Sub(r.StartedAt.Truncate(time.Second)).Round(time.Second)
		return fmt.Sprintf("%s, %s +%s into the run (%s)", what, how, off, t.UTC().Format("15:04:05 UTC"))
	}
	return fmt.Sprintf("%s, %s %s", what, how, t.UTC().Format("15:04:05 UTC"))
}

// reproCommand is a command line that runs the check's suite again
// against the same target, repeating every option the results record as
// changed (users, duration, faults, the race detector, the model and the
// timeouts, the capacity search, the users file, the segment, the SLA).
// A secret is never in the results: the admin token is passed by name,
// as "$GOLDENPATH_ADMIN_TOKEN"; the SLA's changed rules are written to
// the file --sla reads, by a printf before the command.
func reproCommand(r *Results, c Check) string {
	var args []string
	add := func(a ...string) {
		for _, s := range a {
			args = append(args, shellQuote(s))
		}
	}
	o := r.Options
	add("goldenpath", "run", "--suite", c.Suite)
	switch {
	case r.Target.Embedded || r.Target.URL == "":
		if r.Target.Faults != "" {
			add("--fault", r.Target.Faults)
		}
		if slices.ContainsFunc(r.Scenarios, func(s Scenario) bool { return s.Model == "race-detector" }) {
			add("--race-detector")
		}
		if o.TargetThink != "" {
			add("--target-think", o.TargetThink)
		}
	default:
		add("--target", r.Target.URL)
		if o.AdminTokenGiven {
			args = append(args, "--admin-token", `"$GOLDENPATH_ADMIN_TOKEN"`)
		}
		if o.BypassKeyGiven {
			args = append(args, "--bypass-key", `"$GOLDENPATH_BYPASS_KEY"`)
		}
		if o.APIKeyGiven {
			args = append(args, "--api-key", `"$GOLDENPATH_API_KEY"`)
		}
	}
	if o.Profile != "" {
		add("--profile", o.Profile)
	}
	if o.Journey != "" {
		add("--journey", o.Journey)
	}
	if o.AuthURL != "" {
		add("--auth-url", o.AuthURL)
	}
	if o.Model != "" {
		add("--model", o.Model)
	}
	if o.UsersFile != "" {
		add("--users-file", o.UsersFile)
	}
	if o.Users > 0 {
		add("--users", strconv.Itoa(o.Users))
	}
	for _, f := range []struct{ flag, v string }{
		{"--duration", o.Duration}, {"--rate", formatRate(o.Rate)}, {"--think", o.Think}, {"--run-timeout", o.RunTimeout},
	} {
		if f.v != "" {
			add(f.flag, f.v)
		}
	}
	if o.Iterations > 0 {
		add("--iterations", strconv.FormatInt(o.Iterations, 10))
	}
	if o.MaxUsers != nil {
		add("--max-users", strconv.Itoa(max(*o.MaxUsers, 0)))
	}
	if o.StepDuration != "" {
		add("--step-duration", o.StepDuration)
	}
	if o.Segment != "" && o.Segment != "1/1" && !strings.Contains(o.Segment, "+") {
		add("--segment", o.Segment) // one part of a distributed run; merged parts ran as one
	}
	if len(o.SLAOverrides) == 0 {
		return strings.Join(args, " ")
	}
	add("--sla", reproSLAFile)
	sla := []string{"printf", `'%s\n'`}
	for _, line := range o.SLAOverrides {
		sla = append(sla, shellQuote(line))
	}
	return strings.Join(sla, " ") + " > " + reproSLAFile + " && " + strings.Join(args, " ")
}

// reproSLAFile is the file a repro command writes the SLA's rules to.
const reproSLAFile = "goldenpath-sla.yaml"

// formatRate renders --rate's value, "" for the closed model.
func formatRate(r float64) string {
	if r <= 0 {
		return ""
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell; control characters become "?",
// so a quoted value never spans lines.
func shellQuote(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
