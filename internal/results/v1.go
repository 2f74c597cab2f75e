package results

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file reads goldenpath.results/v1, the schema before typed rules
// and users: there a check's rule was its text ("login: p95 < 5s") beside
// a flat threshold, and a sample named users only in its detail and
// frame.

// v1Check is a check as v1 wrote it.
type v1Check struct {
	Suite     string  `json:"suite"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	Evidence  string  `json:"evidence"`
	Rule      string  `json:"rule"`
	Observed  float64 `json:"observed"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	Scenario  string  `json:"scenario"`
}

// readV1 decodes a v1 file into the current model.
func readV1(data []byte) (*Results, error) {
	var f struct {
		Results
		Checks []v1Check `json:"checks"` // shadows Results.Checks
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	r := f.Results
	r.Checks = make([]Check, len(f.Checks))
	for i, c := range f.Checks {
		r.Checks[i] = Check{Suite: c.Suite, Name: c.Name, Status: c.Status, Evidence: c.Evidence,
			Rule: legacyRule(c.Rule, c.Threshold, c.Unit), Observed: c.Observed, Unit: c.Unit, Scenario: c.Scenario}
	}
	for i := range r.Scenarios {
		for j := range r.Scenarios[i].Samples {
			s := &r.Scenarios[i].Samples[j]
			s.Users = namedUsers(*s)
		}
	}
	return &r, nil
}

// legacyRule reads the rule of a v1 check: its text when it has one, with
// the threshold as the limit in unit; without a text, a threshold is a
// regression check's bound on the change the worse way. It returns nil
// for a check of neither.
func legacyRule(text string, threshold float64, unit string) *Rule {
	if text != "" {
		r, err := ParseRule(text)
		if err != nil {
			return nil
		}
		if threshold != 0 {
			r.Limit = threshold
		}
		if unit != "" {
			r.Unit = unit
		}
		return &r
	}
	if threshold == 0 {
		return nil
	}
	return &Rule{Stat: "change", Op: "<=", Limit: threshold, Unit: unit}
}

// virtualUserRE and userIDRE find the users a v1 sample's text names:
// goldenpath's virtual users, and the target's user ids (the reference
// backend's are "u_" and hex).
var (
	virtualUserRE = regexp.MustCompile(`virtual user (\d+)`)
	userIDRE      = regexp.MustCompile(`(?:user_id |for user )([A-Za-z0-9_.:-]+)|\b(u_[0-9A-Za-z]{4,})\b`)
)

// namedUsers returns the users that a sample of a v1 file names in its
// detail and frame, each once, in the order found: v1 had no other place
// for them. Samples of the current schema carry their users as fields.
func namedUsers(s Sample) []User {
	var out []User
	text := s.Detail + " " + s.Frame
	for _, m := range virtualUserRE.FindAllStringSubmatch(text, -1) {
		vu, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if !slices.ContainsFunc(out, func(u User) bool { return u.VirtualUser != nil && *u.VirtualUser == vu }) {
			out = append(out, VirtualUser(vu))
		}
	}
	for _, m := range userIDRE.FindAllStringSubmatch(text, -1) {
		id := strings.TrimSpace(m[1] + m[2])
		if !slices.ContainsFunc(out, func(u User) bool { return u.ID == id }) {
			out = append(out, User{ID: id})
		}
	}
	return out
}
