package report

import (
	"math"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

func TestRowOfMargin(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Check
		rule *Rule
		want float64 // NaN: no margin
		gap  string
	}{
		{"latency held", Check{Status: Pass, Observed: 500, Unit: "ms"}, mustRule(t, "login: p95 < 5s"), 0.9, ""},
		{"latency broken", Check{Status: Fail, Observed: 61200, Unit: "ms"}, mustRule(t, "journey: p95 < 1m0s"), -0.02,
			"1.20s over the limit (+2.0%)"},
		{"success rate held", Check{Status: Pass, Observed: 0.99, Unit: "ratio"}, mustRule(t, "success_rate: >= 98%"), 0.5, ""},
		{"success rate broken", Check{Status: Fail, Observed: 0.96, Unit: "ratio"}, mustRule(t, "success_rate: >= 98%"), -1,
			"2.00 points under; 200% of the failure budget used"},
		{"error rate held", Check{Status: Pass, Observed: 0.01, Unit: "ratio"}, mustRule(t, "error_rate: < 5%"), 0.8, ""},
		{"error rate broken", Check{Status: Fail, Observed: 0.1, Unit: "ratio"}, mustRule(t, "error_rate: < 5%"), -1,
			"5.00 points over the limit (+100.0%)"},
		{"no journey completed", Check{Status: Fail, Observed: 0, Unit: "ratio"}, mustRule(t, "error_rate: < 5%"), math.NaN(), ""},
		{"skipped", Check{Status: Skip, Unit: "ms"}, mustRule(t, "login: p95 < 5s"), math.NaN(), ""},
		{"no rule", Check{Status: Pass, Observed: 40, Unit: "users"}, nil, math.NaN(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := rowOf(tc.c, tc.rule)
			if math.IsNaN(tc.want) {
				if row.hasMargin {
					t.Errorf("rowOf(%+v) has margin %g; want none", tc.c, row.margin)
				}
				return
			}
			if !row.hasMargin || math.Abs(row.margin-tc.want) > 1e-9 || row.gap != tc.gap {
				t.Errorf("rowOf(%+v) = margin %g (%t), gap %q; want %g, %q", tc.c, row.margin, row.hasMargin, row.gap, tc.want, tc.gap)
			}
		})
	}
}

func mustRule(t *testing.T, line string) *Rule {
	t.Helper()
	r, err := results.ParseRule(line)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"race":                        "race",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"drop-events=50,shared-agent": "drop-events=50,shared-agent",
		"http://h/a b":                "'http://h/a b'",
		"it's":                        `'it'\''s'`,
		"a\nb;rm -rf /":               "'a?b;rm -rf /'",
		"$(id)":                       "'$(id)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	for _, tc := range []struct{ f, in, want string }{
		{"text", "golden_path_success_rate", "golden_path_success_rate"},
		{"text", "_emphasis_ and __strong__", `\_emphasis\_ and \_\_strong\_\_`},
		{"text", "a|b <b>&amp; *x* [l](u) `c` ~s~", `a\|b \<b\>\&amp; \*x\* \[l\](u) \` + "`c\\`" + ` \~s\~`},
		{"text", "two\nlines\r\tend", "two lines  end"},
		{"code", "a`b", "``a`b``"},
		{"code", "`x`", "`` `x` ``"},
		{"code", "", "—"},
		{"cell code", "x|y", "`x\\|y`"},
	} {
		var got string
		switch tc.f {
		case "text":
			got = mdText(tc.in)
		case "code":
			got = mdCode(tc.in)
		default:
			got = mdCellCode(tc.in)
		}
		if got != tc.want {
			t.Errorf("md %s(%q) = %q; want %q", tc.f, tc.in, got, tc.want)
		}
	}
}
