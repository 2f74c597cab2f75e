package fault_test

import (
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
)

// FuzzParse checks that Parse never panics, that a failed Parse returns the
// zero Set, and that a successful one survives String and Parse again.
// More seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "none", "handshake-race", "memory-leak=16KiB", "close-1011=0.1", "slow-db=1h2m3.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := fault.Parse(in)
		if err != nil {
			if s != (fault.Set{}) {
				t.Errorf("Parse(%q) = %+v, %v; want the zero Set with the error", in, fields(s), err)
			}
			return
		}
		str := s.String()
		back, err := fault.Parse(str)
		if err != nil || back != s {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v, the Set of Parse(%q)", str, fields(back), err, fields(s), in)
		}
		if again := back.String(); again != str {
			t.Errorf("String() = %q after a round trip; want %q", again, str)
		}
		if s.Any() != (str != "none") {
			t.Errorf("Parse(%q).Any() = %t but String() = %q", in, s.Any(), str)
		}
	})
}
