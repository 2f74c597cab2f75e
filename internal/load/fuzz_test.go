package load

import "testing"

// FuzzParseSegment reads --segment values. A segment that parses is
// within 1 <= i <= n and written by String in the form that parses back
// to it: ParseSegment(s.String()) == s. Its share of n items is the number
// of items it owns.
func FuzzParseSegment(f *testing.F) {
	for _, s := range []string{"1/1", "2/4", "4/4", "0/4", "5/4", "+1/2", "1/-1", "01/002", "1/9223372036854775807", "9223372036854775807/9223372036854775807", "1/2/3", " 1/2", "١/٢"} {
		f.Add(s, uint8(10))
	}
	f.Fuzz(func(t *testing.T, in string, items uint8) {
		s, err := ParseSegment(in)
		if err != nil {
			if s != (Segment{}) {
				t.Fatalf("ParseSegment(%q) = %+v, %v; want the zero Segment with the error", in, s, err)
			}
			return
		}
		if s.Index < 0 || s.Index >= s.Count {
			t.Fatalf("ParseSegment(%q) = %+v; want 0 <= Index < Count", in, s)
		}
		back, err := ParseSegment(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseSegment(%q) = %+v, %v; want %+v, the segment of %q", s.String(), back, err, s, in)
		}
		var owned int64
		for k := range int64(items) {
			if s.Owns(k) {
				owned++
			}
		}
		if got := s.Share(int64(items)); got != owned {
			t.Fatalf("%+v.Share(%d) = %d; want %d, the items it owns", s, items, got, owned)
		}
	})
}
