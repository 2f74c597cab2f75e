package config

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestInteger(t *testing.T) {
	tests := []struct {
		num  string
		want int64
		err  error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"-0.0e-7", 0, nil},
		{"200", 200, nil},
		{"-200", -200, nil},
		{"1e3", 1000, nil},
		{"1E+3", 1000, nil},
		{"200.0", 200, nil},
		{"2.5e1", 25, nil},
		{"25000e-3", 25, nil},
		{"0.000e999999999999999999999", 0, nil},
		{"9223372036854775807", 9223372036854775807, nil},
		{"-9223372036854775808", -9223372036854775808, nil},
		{"1.5", 0, errNotInteger},
		{"1e-400", 0, errNotInteger},
		{"1.0000000000000000001", 0, errNotInteger},
		{"25001e-3", 0, errNotInteger},
		{"1e-999999999999999999999", 0, errNotInteger},
		{"9223372036854775808", 0, errOutOfRange},
		{"1e19", 0, errOutOfRange},
		{"1e400", 0, errOutOfRange},
		{"1e999999999999999999999", 0, errOutOfRange},
		{"-1e999999999999999999999", 0, errOutOfRange},
	}
	for _, tt := range tests {
		got, err := integer(tt.num)
		if got != tt.want || err != tt.err {
			t.Errorf("integer(%s) = %d, %v; want %d, %v", tt.num, got, err, tt.want, tt.err)
		}
	}
}

// FuzzInteger checks integer against exact rational arithmetic.
func FuzzInteger(f *testing.F) {
	for _, seed := range []string{"0", "-0.0", "1e3", "1.5", "200.000", "9223372036854775807", "-9223372036854775809", "12e-1", "120e-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, num string) {
		var v any
		if err := json.Unmarshal([]byte(num), &v); err != nil || strings.TrimSpace(num) != num {
			t.Skip()
		}
		if _, ok := v.(float64); !ok {
			t.Skip() // not a number
		}
		if i := strings.IndexAny(num, "eE"); i >= 0 && len(strings.TrimLeft(num[i+1:], "+-0")) > 4 {
			t.Skip() // big.Rat would build a huge power of ten
		}
		r, ok := new(big.Rat).SetString(num)
		if !ok {
			t.Fatalf("big.Rat cannot parse the JSON number %s", num)
		}
		got, err := integer(num)
		switch {
		case !r.IsInt():
			if err != errNotInteger {
				t.Errorf("integer(%s) = %d, %v; want %v", num, got, err, errNotInteger)
			}
		case !r.Num().IsInt64():
			if err != errOutOfRange {
				t.Errorf("integer(%s) = %d, %v; want %v", num, got, err, errOutOfRange)
			}
		case err != nil || got != r.Num().Int64():
			t.Errorf("integer(%s) = %d, %v; want %d", num, got, err, r.Num().Int64())
		}
	})
}
