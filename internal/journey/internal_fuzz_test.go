package journey

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzRetryAfter checks the wait a 429's Retry-After header buys: always
// positive and at most maxRetryAfter, whatever the server wrote, and the
// seconds it names when they are a number in (0, maxRetryAfter].
func FuzzRetryAfter(f *testing.F) {
	for _, h := range []string{"", "1", " 2.5 ", "0", "-3", "Wed, 21 Oct 2015 07:28:00 GMT", "NaN", "+Inf", "1e300", "0x10", "9223372036"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		d := retryAfter(h)
		if d <= 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %s; want a wait in (0, %s]", h, d, maxRetryAfter)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(h), 64)
		if err == nil && n > 0 && n <= maxRetryAfter.Seconds() {
			if want := time.Duration(n * float64(time.Second)); d != want && want > 0 {
				t.Fatalf("retryAfter(%q) = %s; want %s", h, d, want)
			}
		}
	})
}

// A Retry-After of NaN, Inf or a number of seconds too large for a
// Duration used to overflow to a negative wait (-2562047h47m16s): the
// retry went at once and the throttled time counted down.
func TestRetryAfterOverflow(t *testing.T) {
	for _, tt := range []struct {
		h    string
		want time.Duration
	}{
		{"NaN", time.Second}, {"+Inf", maxRetryAfter}, {"1e300", maxRetryAfter}, {"9223372037", maxRetryAfter},
		{"1e-300", time.Nanosecond}, {"2.5", 2500 * time.Millisecond}, {"-1", time.Second},
	} {
		if got := retryAfter(tt.h); got != tt.want {
			t.Errorf("retryAfter(%q) = %s; want %s", tt.h, got, tt.want)
		}
	}
}
