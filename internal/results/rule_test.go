package results_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

func TestRuleString(t *testing.T) {
	for _, tc := range []struct {
		rule results.Rule
		want string
	}{
		{results.Rule{Metric: "login", Stat: "p95", Op: "<", Limit: 5000, Unit: "ms"}, "login: p95 < 5s"},
		{results.Rule{Metric: "journey", Stat: "p95", Op: "<", Limit: 60000, Unit: "ms"}, "journey: p95 < 1m0s"},
		{results.Rule{Metric: "config_access", Stat: "p99.9", Op: "<=", Limit: 0.25, Unit: "ms"}, "config_access: p99.9 <= 250µs"},
		{results.Rule{Metric: "success_rate", Stat: "rate", Op: ">=", Limit: 0.98, Unit: "ratio"}, "success_rate: >= 98%"},
		{results.Rule{Metric: "error_rate", Stat: "rate", Op: "<", Limit: 0.001, Unit: "ratio"}, "error_rate: < 0.1%"},
		{results.Rule{Metric: "db_operation.p95", Stat: "change", Op: "<=", Limit: 0.2, Unit: "ratio"}, "db_operation.p95: change <= 20%"},
		{results.Rule{Metric: "throughput", Stat: "change", Op: ">=", Limit: -0.1, Unit: "ratio"}, "throughput: change >= -10%"},
		{results.Rule{Metric: "rss", Stat: "slope_lo", Op: "<=", Limit: 4096, Unit: "bytes"}, "rss: slope_lo <= 4096 bytes"},
		{results.Rule{Metric: "leaks", Stat: "count", Op: "<=", Limit: 0}, "leaks: count <= 0"},
		{results.Rule{Stat: "change", Op: "<=", Limit: 0.2, Unit: "ratio"}, "change <= 20%"},
	} {
		if got := tc.rule.String(); got != tc.want {
			t.Errorf("%+v.String() = %q; want %q", tc.rule, got, tc.want)
		}
		if tc.rule.Metric == "" {
			continue
		}
		back, err := results.ParseRule(tc.want)
		if err != nil || back != tc.rule {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v (the rule String wrote)", tc.want, back, err, tc.rule)
		}
	}
	if got := (*results.Rule)(nil).String(); got != "" {
		t.Errorf("a nil rule's String() = %q; want \"\"", got)
	}
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		line string
		want results.Rule
	}{
		{"login: p95 < 5s", results.Rule{Metric: "login", Stat: "p95", Op: "<", Limit: 5000, Unit: "ms"}},
		{"  ws_handshake :  p99   <=  1.5s ", results.Rule{Metric: "ws_handshake", Stat: "p99", Op: "<=", Limit: 1500, Unit: "ms"}},
		{"success_rate: >=98%", results.Rule{Metric: "success_rate", Stat: "rate", Op: ">=", Limit: 0.98, Unit: "ratio"}},
		{"error_rate: < 5%", results.Rule{Metric: "error_rate", Stat: "rate", Op: "<", Limit: 0.05, Unit: "ratio"}},
		{"error_rate.burst: change <= 2 points", results.Rule{Metric: "error_rate.burst", Stat: "change", Op: "<=", Limit: 2, Unit: "points"}},
	} {
		got, err := results.ParseRule(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ line, want string }{
		{"login p95 < 5s", `is not "metric: rule"`},
		{": p95 < 5s", `is not "metric: rule"`},
		{"login: p95 5s", "is not STAT OP LIMIT"},
		{"login: p95 ~ 5s", "is not STAT OP LIMIT"},
		{"login: p95 < soon", "neither a duration"},
		{"success_rate: >= 98", "is not a rate rule"},
		{"success_rate: >= x%", "is not a percentage"},
		{"rss: slope < x bytes", "is not a number"},
	} {
		_, err := results.ParseRule(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "results: rule ") {
			t.Errorf("ParseRule(%q) error = %v; want one starting \"results: rule\" and containing %q", tc.line, err, tc.want)
		}
	}
}

func TestRuleHolds(t *testing.T) {
	lt := results.Rule{Op: "<", Limit: 10}
	le := results.Rule{Op: "<=", Limit: 10}
	gt := results.Rule{Op: ">", Limit: 10}
	ge := results.Rule{Op: ">=", Limit: 10}
	for _, tc := range []struct {
		rule results.Rule
		v    float64
		want bool
	}{
		{lt, 9, true}, {lt, 10, false}, {le, 10, true}, {le, 11, false},
		{gt, 11, true}, {gt, 10, false}, {ge, 10, true}, {ge, 9, false},
		{results.Rule{Op: "=", Limit: 10}, 10, false},
	} {
		if got := tc.rule.Holds(tc.v); got != tc.want {
			t.Errorf("Rule{Op: %q, Limit: 10}.Holds(%g) = %t; want %t", tc.rule.Op, tc.v, got, tc.want)
		}
	}
}

func ExampleParseRule() {
	r, err := results.ParseRule("login: p95 < 5s")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s of %s %s %g %s\n", r.Stat, r.Metric, r.Op, r.Limit, r.Unit)
	fmt.Println(r.Holds(58.2), r.String())
	// Output:
	// p95 of login < 5000 ms
	// true login: p95 < 5s
}
