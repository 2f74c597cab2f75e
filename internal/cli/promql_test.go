package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// promqlWords are PromQL's aggregations and keywords: words that are not
// metric names (functions are told apart by the "(" after them).
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "stddev": true, "stdvar": true, "topk": true,
	"bottomk": true, "quantile": true, "count_values": true, "group": true, "limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true, "start": true, "end": true,
	"inf": true, "nan": true,
}

// promqlLabelLists are the keywords a parenthesised list of label names
// may follow.
var promqlLabelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// promqlMetrics returns the metric names a PromQL expression selects, in
// order and once each: the identifiers that are not functions (followed
// by "("), aggregations or keywords, label names (in braces, or in the
// lists after by, without, on, ignoring, group_left, group_right),
// numbers or durations; and the value of a __name__="..." matcher. Strings
// are skipped. It checks that brackets balance and strings end, not the
// whole grammar. (Prometheus's own parser would pull a newer
// gorilla/websocket into the module; this is enough for dashboards.)
func promqlMetrics(expr string) ([]string, error) {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var stack []byte // open brackets
	skipSpace := func(i int) int {
		for i < len(expr) && strings.IndexByte(" \t\r\n", expr[i]) >= 0 {
			i++
		}
		return i
	}
	str := func(i int) (string, int, error) { // the string at expr[i], and the index after it
		q := expr[i]
		var b strings.Builder
		for j := i + 1; j < len(expr); j++ {
			switch c := expr[j]; {
			case c == q:
				return b.String(), j + 1, nil
			case c == '\\' && q != '`' && j+1 < len(expr):
				j++
				b.WriteByte(expr[j])
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, fmt.Errorf("unterminated string at %d", i)
	}
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		inBraces := len(stack) > 0 && stack[len(stack)-1] == '{'
		switch {
		case c == '"' || c == '\'' || c == '`':
			_, next, err := str(i)
			if err != nil {
				return nil, err
			}
			i = next
		case c == '(' || c == '{' || c == '[':
			stack = append(stack, c)
			i++
		case c == ')' || c == '}' || c == ']':
			open := map[byte]byte{')': '(', '}': '{', ']': '['}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return nil, fmt.Errorf("unbalanced %q at %d", c, i)
			}
			stack = stack[:len(stack)-1]
			i++
		case '0' <= c && c <= '9' || c == '.':
			// A number or a duration (1e-3, 0x1f, 5m, 1h30m).
			for i++; i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.' ||
				(expr[i] == '-' || expr[i] == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')); i++ {
			}
		case isIdent(c, true):
			j := i + 1
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			word, next := expr[i:j], skipSpace(j)
			i = j
			switch {
			case inBraces && word == "__name__":
				if strings.HasPrefix(expr[next:], "=") && !strings.HasPrefix(expr[next:], "=~") {
					if k := skipSpace(next + 1); k < len(expr) && strings.IndexByte("\"'`", expr[k]) >= 0 {
						name, after, err := str(k)
						if err != nil {
							return nil, err
						}
						add(name)
						i = after
					}
				}
			case inBraces || len(stack) > 0 && stack[len(stack)-1] == '[':
				// a label name, or a subquery's duration
			case promqlLabelLists[strings.ToLower(word)] && next < len(expr) && expr[next] == '(':
				end := strings.IndexByte(expr[next:], ')')
				if end < 0 {
					return nil, fmt.Errorf("unbalanced '(' after %s at %d", word, next)
				}
				i = next + end + 1
			case promqlWords[strings.ToLower(word)]:
			case next < len(expr) && expr[next] == '(':
				// a function
			default:
				add(word)
			}
		default: // operators, commas, spaces, @
			i++
		}
	}
	if len(stack) > 0 {
		return nil, errors.New("unbalanced " + string(stack) + " at the end")
	}
	return names, nil
}

func TestPromqlMetrics(t *testing.T) {
	tests := []struct {
		expr    string
		want    []string
		wantErr string
	}{
		{`sum by (outcome) (rate(goldenpath_run_journeys_total{job=~"x",outcome!="cancelled"}[1m]))`, []string{"goldenpath_run_journeys_total"}, ""},
		{`histogram_quantile(0.95, sum by (le, phase) (rate(a_bucket[5m])))`, []string{"a_bucket"}, ""},
		{`rate(process_cpu_seconds_total{job=~"x"}[1m]) and on (job, instance) goldenpath_run_info`, []string{"process_cpu_seconds_total", "goldenpath_run_info"}, ""},
		{`x / on (a) group_left y`, []string{"x", "y"}, ""},
		{`sum(rate(a[5m] offset 1h)) / ignoring (b) group_left (c) d`, []string{"a", "d"}, ""},
		{`sum without (instance) (a) or count(b) by (job) > bool 1e-3`, []string{"a", "b"}, ""},
		{`{__name__="named_by_matcher", job="x"}`, []string{"named_by_matcher"}, ""},
		{`{__name__=~"regexp_.*"}`, nil, ""},
		{`max_over_time(deriv(a:recorded[10m])[1h:1m]) @ start()`, []string{"a:recorded"}, ""},
		{`a{kind="sum(rate(not_a_metric[1m]))", e='it\'s'} - b`, []string{"a", "b"}, ""},
		{`topk(5, a) + a`, []string{"a"}, ""},
		{`sum by (phase (rate(a[1m]))`, nil, "unbalanced"},
		{`a{job="x"`, nil, "unbalanced"},
		{`rate(a[1m]))`, nil, "unbalanced ')'"},
		{`a{job="x}`, nil, "unterminated string"},
	}
	for _, tt := range tests {
		got, err := promqlMetrics(tt.expr)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("promqlMetrics(%s) = %q, %v; want an error containing %q", tt.expr, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("promqlMetrics(%s) = %q, %v; want %q", tt.expr, got, err, tt.want)
		}
	}
}
