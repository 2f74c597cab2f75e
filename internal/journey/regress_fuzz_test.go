package journey_test

import (
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// Regression tests for what fuzzing found (docs/fuzzing.md); the inputs
// are also in testdata/fuzz.

// A frame that cannot be read comes back as the zero Frame, as Observe
// documents: {"seq":1} used to come back with its seq.
func TestOracleUnreadableFrameIsZero(t *testing.T) {
	for _, frame := range []string{`{"seq":1}`, `{"type":"agent_completed","seq":0}`, `{"type":"pong","seq":2,"data":null}`} {
		got, vs := journey.NewOracle(me).Observe([]byte(frame))
		if got.Type != "" || got.Seq != 0 || !hasKind(vs, journey.ViolationBadEnvelope) {
			t.Errorf("Observe(%s) = %+v, %v; want the zero Frame and bad_envelope", frame, got, vs)
		}
	}
}

// A frame followed by ']' or '}' is not JSON. It used to pass (the
// decoder's More reports false before a closing bracket) and to leave the
// bracket in the pooled decoder, so that the next frame, well formed,
// was refused as not JSON.
func TestOracleTrailingBracket(t *testing.T) {
	clean := number(cleanRun())
	for _, tail := range []string{"]", "}", " ]", "]]"} {
		o := journey.NewOracle(me)
		o.Expect(mid1, content)
		if _, vs := o.Observe(append(append([]byte(nil), clean[0]...), tail...)); !hasKind(vs, journey.ViolationBadEnvelope) {
			t.Errorf("Observe(%s%s) = %v; want bad_envelope for the trailing %q", clean[0], tail, vs, tail)
		}
		o = journey.NewOracle(me)
		o.Expect(mid1, content)
		for _, f := range clean {
			if _, vs := o.Observe(f); len(vs) > 0 {
				t.Errorf("after a frame with a trailing %q: Observe(%s) = %v; want no violation", tail, f, vs)
			}
		}
	}
}
