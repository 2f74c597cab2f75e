package baseline

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// FuzzRead reads baseline files and results.json files with rounds, as
// `goldenpath compare OLD NEW` and the regression suite do. A file that
// reads writes back (Write never fails on what Read returned), and what
// it writes reads to the same baseline: Write(Read(x)) is at a fixed
// point. A baseline compared with itself is no regression and no
// improvement.
func FuzzRead(f *testing.F) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	env := Environment{Goldenpath: "devel+abc", Go: "go1.26.8", Platform: "linux/amd64", CPUs: 2, TargetURL: "http://127.0.0.1:1"}
	b, err := New(rounds(6, 10*time.Millisecond), env, testSettings, at)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, b); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	res := &results.Results{Schema: results.Schema, Options: results.Options{Duration: "12s"}, Scenarios: rounds(2, time.Millisecond)}
	if err := results.WriteJSON(&buf, res); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"goldenpath.baseline/v1","metrics":{"journey.p50":[1,2,3],"x":[-0,1e308,1e308]},"histograms":{"journey":"HISTFAAAAAA="}}`))
	f.Add([]byte(`{"schema":"goldenpath.results/v2","options":{"duration":"9223372036854775807ns"},"scenarios":[{"name":"regression_round_1","metrics":{"counters":{"journeys":0,"failed":5}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var once bytes.Buffer
		if err := Write(&once, b); err != nil {
			t.Fatalf("Write(Read(%q)): %v", data, err)
		}
		back, err := Read(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("Read(%q), written back from %q: %v", once.Bytes(), data, err)
		}
		var twice bytes.Buffer
		if err := Write(&twice, back); err != nil || !bytes.Equal(twice.Bytes(), once.Bytes()) {
			t.Fatalf("Write(Read(Write(Read(%q)))) = %q, %v; want %q", data, twice.Bytes(), err, once.Bytes())
		}
		c, err := Compare(b, b, DefaultThresholds)
		if err != nil {
			t.Fatalf("Compare(b, b) of %q: %v", data, err)
		}
		for _, r := range c.Rows {
			if r.Verdict != Same {
				t.Fatalf("Compare(b, b) of %q: %s is %s; want %s, a baseline against itself", data, r.Name, r.Verdict, Same)
			}
		}
	})
}

// FuzzParseThresholds reads --thresholds lists. A list that parses gives
// valid thresholds, which String writes in a form that parses again to the
// same thresholds (to the 12 significant digits of a percentage, the
// nanosecond of the floor), and String's form is at a fixed point.
func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"", "latency=10%,error=2", "latency=7%", "response=33.3333333333333333%", "floor=0s", "memory=1e-300%",
		"floor=2562047h47m16.854775807s", " latency = 20% , , error=100", "error=5%", "bogus=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		th, err := ParseThresholds(list)
		if err != nil {
			return
		}
		if err := th.Validate(); err != nil {
			t.Fatalf("ParseThresholds(%q) = %+v, which does not validate: %v", list, th, err)
		}
		s := th.String()
		back, err := ParseThresholds(s)
		if err != nil {
			t.Fatalf("ParseThresholds(%q) = %+v, written %q, which does not parse: %v", list, th, s, err)
		}
		for _, v := range []struct {
			name      string
			got, want float64
			tol       float64
		}{{"latency", back.Latency, th.Latency, 1e-11}, {"response", back.Response, th.Response, 1e-11}, {"memory", back.Memory, th.Memory, 1e-11},
			{"error", back.ErrorPoints, th.ErrorPoints, 0}, {"floor", back.FloorMS, th.FloorMS, 1e-11}} {
			if math.Abs(v.got-v.want) > v.tol*math.Abs(v.want)+1e-6*b2f(v.name == "floor") {
				t.Fatalf("ParseThresholds(%q) = %+v; written %q, it parses to %s %g, want %g", list, th, s, v.name, v.got, v.want)
			}
		}
		if again := back.String(); again != s {
			t.Fatalf("ParseThresholds(%q).String() = %q; want %q (first read from %q)", s, again, s, list)
		}
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// What fuzzing found (docs/fuzzing.md); the inputs are also in
// testdata/fuzz.

// Thresholds are written as they were given and read back: 7% was
// written "7.000000000000001%", and a floor beyond a Duration overflowed
// to a negative one that ParseThresholds refuses.
func TestThresholdsStringReadsBack(t *testing.T) {
	for _, tc := range []struct{ list, want string }{
		{"latency=7%", "latency=7%,response=50%,memory=30%,error=5,floor=1ms"},
		{"response=0.1%,memory=29%", "latency=20%,response=0.1%,memory=29%,error=5,floor=1ms"},
		{"floor=2562047h47m16.854775807s", "latency=20%,response=50%,memory=30%,error=5,floor=2562047h47m16.854775807s"},
	} {
		th, err := ParseThresholds(tc.list)
		if err != nil {
			t.Fatalf("ParseThresholds(%q): %v", tc.list, err)
		}
		if got := th.String(); got != tc.want {
			t.Errorf("ParseThresholds(%q).String() = %q; want %q", tc.list, got, tc.want)
		}
		if back, err := ParseThresholds(th.String()); err != nil || back.String() != tc.want {
			t.Errorf("ParseThresholds(%q) = %+v, %v; want %q again", th.String(), back, err, tc.want)
		}
	}
}

// A results file whose rounds hold no metrics read as a baseline that,
// written, could not be read back ("the file holds no metrics"); it is
// refused when read, as the baseline file would be.
func TestReadResultsWithoutMetrics(t *testing.T) {
	in := `{"schema":"goldenpath.results/v2","options":{"duration":"12s"},"scenarios":[{"name":"` + RoundName(1) + `","metrics":{}}]}`
	if b, err := Read(bytes.NewReader([]byte(in))); err == nil {
		t.Errorf("Read(%s) = %+v, no error; want an error: no metrics", in, b)
	}
}
