package results

// Check is one named verdict.
type Check struct {
	Suite    string `json:"suite"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Evidence string `json:"evidence"`
	// Rule is the threshold the check judged, nil for a check that is not
	// one threshold (a correctness finding, a combination of parts).
	Rule *Rule `json:"rule,omitempty"`
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
}

// Threshold is the limit of the check's rule, in Unit; 0 when it has
// none.
func (c Check) Threshold() float64 {
	if c.Rule == nil {
		return 0
	}
	return c.Rule.Limit
}
