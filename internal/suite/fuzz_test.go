package suite

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseSLA reads --sla files. Every rule of an SLA that parses is one
// a check can judge: a latency rule bounds a statistic from above by a
// positive duration, a rate rule is a percentage from 0% to 100%. The
// SLA's own lines (Lines, the rules' String) parse again to the same SLA:
// the same latency limits to the nanosecond, rates to the 12 digits a
// percentage is written with, and Lines at a fixed point.
func FuzzParseSLA(f *testing.F) {
	for _, s := range []string{
		"login: p95 < 5s\nsuccess_rate: >= 98%\n",
		"# comment\n---\nfirst_event: \"p99 <= 250ms\" # why\nerror_rate: '< 0.5%'\n",
		"server_http_login: max < 1h\ngoodput: >= 99.99999999999%\n",
		"login: p95 < 2562047h47m16.854775807s\n",
		"success_rate: >= NaN%\n",
		"login: p95 < 5s\nlogin: p99 < 1s\n",
		"journey: p99.9 < 1e3ms\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSLA(data)
		if err != nil {
			return
		}
		for m, r := range s {
			switch {
			case r.Metric != m:
				t.Fatalf("ParseSLA(%q)[%s] = %+v; want the rule of %s", data, m, r, m)
			case r.Stat == "rate" && !(r.Rate >= 0 && r.Rate <= 1):
				t.Fatalf("ParseSLA(%q)[%s] = %+v; want a rate from 0 to 1", data, m, r)
			case r.Stat != "rate" && (r.Limit <= 0 || !strings.HasPrefix(r.Op, "<")):
				t.Fatalf("ParseSLA(%q)[%s] = %+v; want a positive duration bounding from above", data, m, r)
			}
		}
		lines := s.Lines()
		back, err := ParseSLA([]byte(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatalf("ParseSLA(%q), the lines of ParseSLA(%q): %v", lines, data, err)
		}
		if len(back) != len(s) {
			t.Fatalf("ParseSLA(%q) has %d rules; want the %d of ParseSLA(%q)", lines, len(back), len(s), data)
		}
		for m, r := range s {
			b := back[m]
			if b.Stat != r.Stat || b.Op != r.Op || b.Limit != r.Limit || math.Abs(b.Rate-r.Rate) > 1e-11*r.Rate {
				t.Fatalf("ParseSLA(%q)[%s] = %+v; want %+v, the rule of ParseSLA(%q)", lines, m, b, r, data)
			}
		}
		if again := back.Lines(); strings.Join(again, "\n") != strings.Join(lines, "\n") {
			t.Fatalf("the lines of ParseSLA(%q) are %q; want them again", lines, again)
		}
	})
}

// Rules that FuzzParseSLA's checks refused once they were written
// (docs/fuzzing.md): a NaN rate was accepted and failed every run, and a
// latency limit near the largest Duration overflowed to a negative one.
func TestParseSLARefusesNaNAndOverflow(t *testing.T) {
	for _, file := range []string{
		"success_rate: >= NaN%",
		"error_rate: < nan%",
		"login: p95 < 2562047h47m16.854775807s",
		"journey: p99 < 1281024h",
	} {
		if s, err := ParseSLA([]byte(file)); err == nil {
			m, _, _ := strings.Cut(file, ":")
			t.Errorf("ParseSLA(%q) = %s, no error; want an error", file, s[m])
		}
	}
	if s, err := ParseSLA([]byte("login: p95 < 1281023h53m38.427387904s")); err != nil || s["login"].Limit != maxLimit {
		t.Errorf("ParseSLA(the longest limit) = %v; want it accepted", err)
	}
}
