package journey

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON reading of the fast paths (framefast.go): a fastScan walks the
// bytes once, reads the members the level it is in names, checks the
// syntax of everything else as it skips it, and fails (ok false) at the
// first thing only encoding/json's reading would get right.

// maxFastDepth bounds the nesting the fast path skips through; a deeper
// value goes to the general decoder.
const maxFastDepth = 32

func (s *fastScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c (after white space) or fails.
func (s *fastScan) eat(c byte) {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return
	}
	s.ok = false
}

// peek returns the next byte after white space, 0 at the end.
func (s *fastScan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// plain reads a string with no escape, no control byte and valid UTF-8,
// and returns its contents; any other string fails.
func (s *fastScan) plain() []byte {
	v, escaped := s.quoted()
	if escaped {
		s.ok = false
		return nil
	}
	return v
}

// quoted reads a string with no control byte and valid UTF-8, and
// returns its contents as written and whether they hold an escape (whose
// validity unescape checks); any other string fails.
func (s *fastScan) quoted() (v []byte, escaped bool) {
	if s.peek() != '"' {
		s.ok = false
		return nil, false
	}
	start, high := s.i+1, false
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if !stringStop[c] {
			continue
		}
		switch {
		case c == '"':
			if high && !utf8.Valid(s.b[start:j]) {
				s.ok = false
				return nil, false
			}
			s.i = j + 1
			return s.b[start:j], escaped
		case c >= 0x80:
			high = true
		case c == '\\':
			escaped = true
			j++ // the escaped byte, a quote maybe
		default: // a control byte
			s.ok = false
			return nil, false
		}
	}
	s.ok = false
	return nil, false
}

// unescape is the string v (a quoted's contents) stands for: the escapes
// of RFC 8259, a surrogate only in a valid pair; ok is false for any
// other escape.
func unescape(v []byte) (string, bool) {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(v) {
			return "", false
		}
		i++
		switch v[i] {
		case '"', '\\', '/':
			out = append(out, v[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(v[i+1:])
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), i+2 < len(v) && v[i+1] == '\\' && v[i+2] == 'u'
				if ok {
					r2, ok = hex4(v[i+3:])
				}
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return "", false // not a pair: encoding/json's replacement is the general decoder's
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

// hex4 reads the 4 hex digits b starts with.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, h := range b[:4] {
		switch {
		case '0' <= h && h <= '9':
			h -= '0'
		case 'a' <= h && h <= 'f':
			h -= 'a' - 10
		case 'A' <= h && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}

// stringStop marks the bytes of a string plain cannot pass over: the
// quote, the backslash, control bytes and those outside ASCII.
var stringStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()

// object reads an object whose names are plain ASCII, none twice among
// the level's names and none that matches one of them only regardless of
// case (or of '_' and '-'); member reads the value of each of the level's
// names. Other members' values are skipped.
func (s *fastScan) object(level, depth int) {
	known := levelNames[level]
	s.eat('{')
	if !s.ok {
		return
	}
	if s.peek() == '}' {
		s.i++
		return
	}
	var seen uint32
	for s.ok {
		name := s.plain()
		s.eat(':')
		if !s.ok {
			return
		}
		switch k := nameIndex(known, name); {
		case k >= 0 && seen&(1<<k) == 0:
			seen |= 1 << k
			s.member(level, k)
		case k == -1:
			s.skip(depth + 1)
		default: // twice, or a near miss encoding/json would take
			s.ok = false
			return
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.ok = false
		}
	}
}

// nameIndex returns name's index in known, -1 for a name no field takes,
// -2 for one encoding/json would match to a field though it is not that
// field's exact name (another case, '_' or '-' left out or added, bytes
// outside ASCII).
func nameIndex(known []string, name []byte) int {
	if len(known) == 0 {
		return -1
	}
	for k, n := range known {
		if string(name) == n {
			return k
		}
	}
	for _, c := range name {
		if c >= 0x80 {
			return -2
		}
	}
	for _, n := range known {
		if foldEqual(name, n) {
			return -2
		}
	}
	return -1
}

// foldEqual reports whether a and b are equal ignoring ASCII case and
// every '_' and '-'.
func foldEqual(a []byte, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] == '_' || a[i] == '-') {
			i++
		}
		for j < len(b) && (b[j] == '_' || b[j] == '-') {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ca, cb := a[i], b[j]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
		i, j = i+1, j+1
	}
}

// skip reads any one JSON value and checks its syntax; it returns the
// value's bytes.
func (s *fastScan) skip(depth int) []byte {
	c := s.peek()
	start := s.i
	if depth > maxFastDepth {
		s.ok = false
		return nil
	}
	switch {
	case c == '{':
		s.object(levelSkip, depth)
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			break
		}
		for s.ok {
			s.skip(depth + 1)
			if c := s.peek(); c == ',' {
				s.i++
			} else {
				s.eat(']')
				break
			}
		}
	case c == '"':
		s.anyString()
	case c == '-' || '0' <= c && c <= '9':
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.ok = false
	}
	if !s.ok {
		return nil
	}
	return s.b[start:s.i]
}

// anyString reads a string with any valid escapes; bytes outside ASCII
// must be valid UTF-8.
func (s *fastScan) anyString() {
	start, high := s.i, false
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if high && !utf8.Valid(s.b[start:s.i]) {
				s.ok = false
			}
			return
		case c < 0x20:
			s.ok = false
			return
		case c >= 0x80:
			high = true
			s.i++
		case c == '\\':
			if s.i+1 >= len(s.b) {
				s.ok = false
				return
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					s.ok = false
					return
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						s.ok = false
						return
					}
				}
				s.i += 6
			default:
				s.ok = false
				return
			}
		default:
			s.i++
		}
	}
	s.ok = false
}

// number reads a number as JSON's grammar has it.
func (s *fastScan) number() {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		s.ok = false
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.ok = false
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.ok = false
			return
		}
	}
	s.i = i
}

func (s *fastScan) literal(lit string) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.ok = false
		return
	}
	s.i += len(lit)
}

// int reads an integer written as one (no fraction, no exponent) that
// fits an int64.
func (s *fastScan) int() int64 {
	if c := s.peek(); c != '-' && !('0' <= c && c <= '9') {
		s.ok = false
		return 0
	}
	start := s.i
	s.number()
	if !s.ok {
		return 0
	}
	v, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil || bytes.ContainsAny(s.b[start:s.i], ".eE") {
		s.ok = false
	}
	return v
}
