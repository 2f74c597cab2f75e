package suite

import (
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
)

func TestParseSLA(t *testing.T) {
	// with returns the defaults with the given rules replaced.
	with := func(lines ...string) SLA {
		s := DefaultSLA()
		for _, l := range lines {
			k, v, _ := strings.Cut(l, ": ")
			r, err := parseRule(k, v)
			if err != nil {
				t.Fatalf("parseRule(%q, %q): %v", k, v, err)
			}
			s[k] = r
		}
		return s
	}
	for _, tc := range []struct {
		name, file string
		want       SLA
	}{
		{"empty file keeps the defaults", "", DefaultSLA()},
		{"comments, blank lines and a document marker keep the defaults",
			"# our SLA\n\n---\n   # indented comment\n\n", DefaultSLA()},
		{"latency override", "login: p95 < 50ms", with("login: p95 < 50ms")},
		{"another statistic and <=", "journey: p99 <= 2s", with("journey: p99 <= 2s")},
		{"p99.9, mean and max", "db_operation: p99.9 < 20ms\nconfig_access: mean < 1ms\nserver_factory: max <= 1s",
			with("db_operation: p99.9 < 20ms", "config_access: mean < 1ms", "server_factory: max <= 1s")},
		{"quoted rate", `success_rate: ">= 99.5%"`, with("success_rate: >= 99.5%")},
		{"single-quoted rate", `success_rate: '>= 99.5%'`, with("success_rate: >= 99.5%")},
		{"unquoted rate", "success_rate: >= 98%", with("success_rate: >= 98%")},
		{"rate without a space after the operator", "success_rate: >=97%", with("success_rate: >= 97%")},
		{"error rate", "error_rate: < 1%", with("error_rate: < 1%")},
		{"trailing comment", "login: p95 < 50ms # tighter than the seed", with("login: p95 < 50ms")},
		{"# inside quotes is not a comment, and CRLF line ends",
			"# header\r\nerror_rate: \"< 2%\" # was 5%\r\n---\r\n", with("error_rate: < 2%")},
		{"a later line overrides an earlier one", "login: p95 < 1s\nlogin: p95 < 2s", with("login: p95 < 2s")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSLA([]byte(tc.file))
			if err != nil {
				t.Fatalf("ParseSLA(%q) = error %v; want no error", tc.file, err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("ParseSLA(%q) = %q; want %q", tc.file, got.Lines(), tc.want.Lines())
			}
		})
	}
}

func TestParseSLAErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string // all in the error text
	}{
		{"not a mapping", "login p95 < 5s",
			[]string{"line 1", `"login p95 < 5s" is not "metric: rule"`, "login: p95 < 5s"}},
		{"no rule", "\nlogin:", []string{"line 2", "is not \"metric: rule\""}},
		{"unknown metric lists the known ones", "# x\nlogn: p95 < 5s",
			[]string{"line 2", `unknown metric "logn"`, "known: agent_execution, config_access, db_operation, error_rate, journey, login, response_delivery, server_factory, success_rate, ws_handshake"}},
		{"bad statistic", "login: p42 < 5s",
			[]string{"line 1", `"p42 < 5s" is not a latency rule`, "p50, p90, p95, p99, p99.9, mean, max", `"p95 < 5s"`}},
		{"bad operator", "login: p95 == 5s", []string{"line 1", `"p95 == 5s" is not a latency rule`, "STAT OP DURATION"}},
		{"> on a latency rule", "login: p95 > 5s", []string{"line 1", "bounds from above; use < or <="}},
		{">= on a latency rule", "journey: p99 >= 5s", []string{"journey: a latency rule bounds from above"}},
		{"duration without a unit", "login: p95 < 5", []string{"line 1", `"5" is not a positive duration`, "250ms"}},
		{"zero duration", "login: p95 < 0s", []string{`"0s" is not a positive duration`}},
		{"negative duration", "login: p95 < -1s", []string{`"-1s" is not a positive duration`}},
		{"rate without %", "success_rate: >= 98", []string{"line 1", `success_rate: ">= 98" is not a rate rule`, `">= 98%"`}},
		{"rate with a statistic", "error_rate: p95 < 5%", []string{"is not a rate rule"}},
		{"rate over 100%", "success_rate: >= 101%", []string{"line 1", `"101%" is not a percentage from 0% to 100%`}},
		{"negative rate", "error_rate: < -1%", []string{`"-1%" is not a percentage`}},
		{"rate that is not a number", "error_rate: < lots%", []string{`"lots%" is not a percentage`}},
		{"every bad line is reported", "login: p95 > 5s\nok: fine\nerror_rate: < 500%",
			[]string{"line 1", "line 2", "line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSLA([]byte(tc.file))
			if err == nil {
				t.Fatalf("ParseSLA(%q) = %q, no error; want an error containing %q", tc.file, got.Lines(), tc.want)
			}
			if got != nil {
				t.Errorf("ParseSLA(%q) returned an SLA beside error %v; want nil", tc.file, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseSLA(%q) error = %q; want it to contain %q", tc.file, err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "sla: ") {
				t.Errorf("ParseSLA(%q) error = %q; want it to start with \"sla: \"", tc.file, err)
			}
		})
	}
}

// TestSLALinesRoundTrip checks that what results.json stores (SLA.Lines)
// parses back to the same rules: `goldenpath merge` judges merged segments
// by exactly that.
func TestSLALinesRoundTrip(t *testing.T) {
	for _, file := range []string{
		"",
		"login: p95 < 50ms\nsuccess_rate: >= 99.5%\nerror_rate: < 1%",
		"journey: p99.9 <= 1m30s\nconfig_access: mean < 1.5ms\nerror_rate: < 0.1%",
		"success_rate: >= 58%\nerror_rate: < 7%", // rates whose fraction times 100 is not exact
		"success_rate: >= 100%\nerror_rate: <= 0%",
	} {
		sla, err := ParseSLA([]byte(file))
		if err != nil {
			t.Fatalf("ParseSLA(%q): %v", file, err)
		}
		text := strings.Join(sla.Lines(), "\n")
		back, err := ParseSLA([]byte(text))
		if err != nil {
			t.Errorf("ParseSLA(Lines of %q) = error %v; want the same rules back", file, err)
			continue
		}
		if !maps.Equal(back, sla) {
			t.Errorf("ParseSLA(Lines of %q) = %q; want %q", file, back.Lines(), sla.Lines())
		}
	}
	if got := len(DefaultSLA().Lines()); got != len(knownMetrics()) {
		t.Errorf("len(DefaultSLA().Lines()) = %d; want one line per known metric (%d)", got, len(knownMetrics()))
	}
}

func TestRuleString(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Metric: "login", Stat: "p95", Op: "<", Limit: 5 * time.Second}, "login: p95 < 5s"},
		{Rule{Metric: "config_access", Stat: "p99.9", Op: "<=", Limit: 1500 * time.Microsecond}, "config_access: p99.9 <= 1.5ms"},
		{Rule{Metric: "journey", Stat: "p95", Op: "<", Limit: time.Minute}, "journey: p95 < 1m0s"},
		{Rule{Metric: RateSuccess, Stat: "rate", Op: ">=", Rate: 0.98}, "success_rate: >= 98%"},
		{Rule{Metric: RateSuccess, Stat: "rate", Op: ">=", Rate: 0.995}, "success_rate: >= 99.5%"},
		{Rule{Metric: RateError, Stat: "rate", Op: "<", Rate: 0.05}, "error_rate: < 5%"},
	} {
		if got := tc.rule.String(); got != tc.want {
			t.Errorf("%+v.String() = %q; want %q", tc.rule, got, tc.want)
		}
	}
}

// TestBugRuleStringRateFloatNoise shows a bug: Rule.String renders a rate
// as Rate*100, which for many percentages is not the number written, so
// "error_rate: < 7%" is shown in check rules, evidence, junit.xml and
// results.json options.sla as "< 7.000000000000001%". The fraction still
// parses back equal (TestSLALinesRoundTrip), so verdicts are not affected.
func TestBugRuleStringRateFloatNoise(t *testing.T) {
	for _, line := range []string{
		"error_rate: < 7%",
		"success_rate: >= 58%",
		"error_rate: < 0.9%",
		"success_rate: >= 99.9%",
	} {
		sla, err := ParseSLA([]byte(line))
		if err != nil {
			t.Fatalf("ParseSLA(%q): %v", line, err)
		}
		k, _, _ := strings.Cut(line, ":")
		if got := sla[k].String(); got != line {
			t.Errorf("ParseSLA(%q)[%q].String() = %q; want %q", line, k, got, line)
		}
	}
}

func TestRuleHolds(t *testing.T) {
	lat := func(op string, limit time.Duration) Rule {
		return Rule{Metric: "login", Stat: "p95", Op: op, Limit: limit}
	}
	rate := func(op string, r float64) Rule { return Rule{Metric: RateSuccess, Stat: "rate", Op: op, Rate: r} }
	for _, tc := range []struct {
		rule     Rule
		observed float64
		want     bool
	}{
		{lat("<", 5*time.Second), 4999.9, true},
		{lat("<", 5*time.Second), 5000, false},
		{lat("<=", 5*time.Second), 5000, true},
		{lat("<=", 5*time.Second), 5000.1, false},
		{lat("<", 10*time.Millisecond), 9.99, true},
		{lat("<", 500*time.Microsecond), 0.5, false},
		{lat("<", 500*time.Microsecond), 0.499, true},
		{lat("<", 5*time.Second), math.NaN(), false},
		{rate(">=", 0.98), 0.98, true},
		{rate(">=", 0.98), 0.9799, false},
		{rate(">", 0.98), 0.98, false},
		{rate(">", 0.98), 0.981, true},
		{rate("<", 0.05), 0.05, false},
		{rate("<", 0.05), 0.0499, true},
		{rate("<=", 0), 0, true},
		{rate("<=", 0), 0.001, false},
		{Rule{Metric: "login", Stat: "p95", Op: "==", Limit: time.Second}, 1000, false},
		{Rule{Metric: "login", Stat: "p95", Op: "", Limit: time.Second}, 1, false},
	} {
		if got := tc.rule.Holds(tc.observed); got != tc.want {
			t.Errorf("(%s).Holds(%g) = %t; want %t", tc.rule, tc.observed, got, tc.want)
		}
	}
}

func TestRuleObserve(t *testing.T) {
	s := metrics.Summary{Count: 100, Min: 0.5, Mean: 2, P50: 1, P90: 3, P95: 4, P99: 5, P999: 6, Max: 7}
	for _, tc := range []struct {
		stat string
		want float64
	}{
		{"p50", 1}, {"p90", 3}, {"p95", 4}, {"p99", 5}, {"p99.9", 6}, {"mean", 2}, {"max", 7},
	} {
		r := Rule{Metric: "login", Stat: tc.stat, Op: "<", Limit: time.Second}
		if got := r.Observe(s); got != tc.want {
			t.Errorf("Rule{Stat: %q}.Observe(%+v) = %g; want %g", tc.stat, s, got, tc.want)
		}
	}
	for _, stat := range []string{"rate", "p42", ""} {
		if got := (Rule{Stat: stat}).Observe(s); !math.IsNaN(got) {
			t.Errorf("Rule{Stat: %q}.Observe(%+v) = %g; want NaN", stat, s, got)
		}
	}
}

func TestRuleLimitValue(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want float64
	}{
		{Rule{Stat: "p95", Limit: 5 * time.Second}, 5000},
		{Rule{Stat: "mean", Limit: 250 * time.Microsecond}, 0.25},
		{Rule{Stat: "rate", Rate: 0.98}, 0.98},
	} {
		if got := tc.rule.LimitValue(); got != tc.want {
			t.Errorf("%+v.LimitValue() = %g; want %g", tc.rule, got, tc.want)
		}
	}
}
