package results

// Check is one named verdict.
type Check struct {
	Suite    string `json:"suite"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Evidence string `json:"evidence"`
	// TypedRule is the rule the check judged, nil for a check that is not
	// one threshold (a correctness finding, a combination of parts).
	TypedRule *Rule `json:"rule,omitempty"`
	// Observed is the figure judged, in Unit; 0 when the check measured
	// none.
	Observed float64 `json:"observed"`
	// Unit is the unit of Observed (the rule's, when there is one).
	Unit string `json:"unit,omitempty"`
	// Samples is how many measurements Observed summarises: the latencies
	// of a percentile, the journeys of a rate, the cycles of a memory
	// trend, the rounds of a comparison; 0 when not counted.
	Samples int64 `json:"samples,omitempty"`
	// Scenario names the scenario(s) judged, comma-separated.
	Scenario string `json:"scenario,omitempty"`

	// Rule and Threshold are the rule's text ("login: p95 < 5s") and limit
	// as the suites set them before they set TypedRule; [Check.RuleOf]
	// reads them into a Rule, and [WriteJSON] writes them as one. They are
	// not part of the file.
	Rule      string  `json:"-"`
	Threshold float64 `json:"-"`
}

// RuleOf returns the rule the check judged: TypedRule, or the rule read
// from the text fields Rule and Threshold; nil when it judged none.
func (c Check) RuleOf() *Rule {
	if c.TypedRule != nil {
		return c.TypedRule
	}
	return legacyRule(c.Rule, c.Threshold, c.Unit)
}

// Limit is the limit of the check's rule, 0 when it has none.
func (c Check) Limit() float64 {
	if r := c.RuleOf(); r != nil {
		return r.Limit
	}
	return 0
}
