package protocol_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty object", `{}`, `{}`},
		{"whitespace around", " \n\t{ }\r\n ", `{}`},
		{"keys sorted", `{"b":1,"a":2,"c":3}`, `{"a":2,"b":1,"c":3}`},
		{"nested objects sorted", `{"z":{"y":1,"x":{"w":2,"v":3}},"a":[]}`, `{"a":[],"z":{"x":{"v":3,"w":2},"y":1}}`},
		{"objects in arrays sorted", `{"l":[{"b":1,"a":2},[{"d":1,"c":{"f":0,"e":1}}],3]}`, `{"l":[{"a":2,"b":1},[{"c":{"e":1,"f":0},"d":1}],3]}`},
		{"array order kept", `{"a":[3,1,2,"b","a"]}`, `{"a":[3,1,2,"b","a"]}`},
		{"keys sorted bytewise", `{"é":1,"aa":2,"a":3,"_":4,"Z":5,"B":6,"":7}`, `{"":7,"B":6,"Z":5,"_":4,"a":3,"aa":2,"é":1}`},
		// U+FF61 sorts before U+1F600 in UTF-8 but after it in UTF-16.
		{"keys sorted by UTF-8 bytes, not UTF-16", `{"😀":1,"｡":2}`, `{"｡":2,"😀":1}`},
		{"insignificant whitespace removed", "{\n  \"b\" : { } ,\n\t\"a\" : [ 1 , 2 ]\r\n}", `{"a":[1,2],"b":{}}`},
		{"whitespace in strings kept", `{"s":"a b\tc"}`, `{"s":"a b\tc"}`},
		{"no HTML escaping", `{"h":"<a href=\"x\">&amp;</a>"}`, `{"h":"<a href=\"x\">&amp;</a>"}`},
		{"escaped HTML unescaped", `{"h":"\u003cb\u003e \u0026"}`, `{"h":"<b> &"}`},
		{"decimal trailing zero kept", `{"n":1.50}`, `{"n":1.50}`},
		{"exponent kept", `{"n":1e3,"m":1E-7,"o":2.5e+10}`, `{"m":1E-7,"n":1e3,"o":2.5e+10}`},
		{"negative zero kept", `{"n":-0,"m":-0.0}`, `{"m":-0.0,"n":-0}`},
		{"big integer kept", `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
		{"long decimal kept", `{"n":0.1000000000000000000000001}`, `{"n":0.1000000000000000000000001}`},
		{"literals", `{"t":true,"f":false,"n":null}`, `{"f":false,"n":null,"t":true}`},
		{"unicode kept as UTF-8", `{"s":"héllo, 世界 😀"}`, `{"s":"héllo, 世界 😀"}`},
		{"unicode escapes decoded", `{"s":"\u00e9\ud83d\ude00"}`, `{"s":"é😀"}`},
		{"needed escapes kept", `{"s":"q\"b\\n\nt\tc\u0001"}`, `{"s":"q\"b\\n\nt\tc\u0001"}`},
		{"solidus unescaped", `{"s":"a\/b"}`, `{"s":"a/b"}`},
		{"escaped key sorted by its value", `{"b":1,"\u0061":2}`, `{"a":2,"b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.Canonical([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonical(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCanonicalErrors(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{``, "protocol: values are not a JSON object"},
		{`   `, "protocol: values are not a JSON object"},
		{`[]`, "protocol: values are not a JSON object"},
		{`[{"a":1}]`, "protocol: values are not a JSON object"},
		{`"x"`, "protocol: values are not a JSON object"},
		{`1`, "protocol: values are not a JSON object"},
		{`true`, "protocol: values are not a JSON object"},
		{`null`, "protocol: values are null, want a JSON object"},
		{`{} {}`, "protocol: values have trailing data after the object"},
		{`{"a":1} x`, "protocol: values have trailing data"},
		{`{"a":1}[]`, "protocol: values have trailing data"},
		// BUG (canonical.go, Canonical): dec.More reports false before a
		// ']' or '}', so these invalid documents are accepted as {}.
		{`{}]`, "protocol: values have trailing data"},
		{`{"a":1}}`, "protocol: values have trailing data"},
		{`{"a":}`, "protocol: values are not a JSON object"},
		{`{"a":1,}`, "protocol: values are not a JSON object"},
		{`{a:1}`, "protocol: values are not a JSON object"},
		{`{"a":1`, "protocol: values are not a JSON object"},
		{`{"a":01}`, "protocol: values are not a JSON object"},
		{`{"a":NaN}`, "protocol: values are not a JSON object"},
		{`{"a":'x'}`, "protocol: values are not a JSON object"},
		{`{"a":[1,2}`, "protocol: values are not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := protocol.Canonical([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Canonical(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	// The sums were computed outside Go, e.g. printf '{"a":1}' | sha256sum.
	tests := []struct {
		in, want string
	}{
		{``, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{`{"a":1}`, "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"},
		{`{"a":{"b":[1,"<x>"]},"z":1.50}`, "sha256:e7d276c1a9a0615787a4fa4da26fc1a509c36a2761e85de967fa149fe7c72095"},
	}
	for _, tt := range tests {
		if got := protocol.Checksum([]byte(tt.in)); got != tt.want {
			t.Errorf("Checksum(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestChecksumOfCanonical(t *testing.T) {
	const in = `{ "z": 1.50, "a": {"b": [1, "\u003cx>"]} }`
	const want = "sha256:e7d276c1a9a0615787a4fa4da26fc1a509c36a2761e85de967fa149fe7c72095"
	c, err := protocol.Canonical([]byte(in))
	if err != nil {
		t.Fatalf("Canonical(%q) = %v; want no error", in, err)
	}
	if got := protocol.Checksum(c); got != want {
		t.Errorf("Checksum(Canonical(%q)) = %q; want %q", in, got, want)
	}
}

func TestVerifyChecksum(t *testing.T) {
	const sumA1 = "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
	tests := []struct {
		values, sum string
		want        bool
		wantErr     string
	}{
		{`{"a":1}`, sumA1, true, ""},
		{` { "a" : 1 } `, sumA1, true, ""},
		{`{"a":1.0}`, sumA1, false, ""},
		{`{"a":2}`, sumA1, false, ""},
		{`{"a":1}`, strings.TrimPrefix(sumA1, "sha256:"), false, ""},
		{`{"a":1}`, strings.ToUpper(sumA1), false, ""},
		{`{"a":1}`, "", false, ""},
		{`[]`, sumA1, false, "protocol: values are not a JSON object"},
		{`null`, sumA1, false, "protocol: values are null"},
	}
	for _, tt := range tests {
		got, err := protocol.VerifyChecksum([]byte(tt.values), tt.sum)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got {
				t.Errorf("VerifyChecksum(%q, %q) = %t, %v; want false, error containing %q", tt.values, tt.sum, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("VerifyChecksum(%q, %q) = %t, %v; want %t, no error", tt.values, tt.sum, got, err, tt.want)
		}
	}
}

// FuzzCanonical checks that canonical JSON is a fixed point of Canonical,
// is compact, has its keys sorted at every level, and decodes to the value
// of its input. Seeds are in testdata/fuzz/FuzzCanonical.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"b":[{"d":1,"c":"<&>"}],"a":1.50}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := protocol.Canonical(in)
		if err != nil {
			return
		}
		again, err := protocol.Canonical(c)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("Canonical(%q) = %q, %v; want %q again (Canonical of %q)", c, again, err, c, in)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, c); err != nil || !bytes.Equal(compact.Bytes(), c) {
			t.Errorf("Canonical(%q) = %q; want compact JSON, got %q, %v from json.Compact", in, c, compact.Bytes(), err)
		}
		if err := sortedKeys(c); err != nil {
			t.Errorf("Canonical(%q) = %q; %v", in, c, err)
		}
		if want, got := decode(t, in), decode(t, c); !reflect.DeepEqual(got, want) {
			t.Errorf("Canonical(%q) = %q, which decodes to %#v; want %#v, the input's value", in, c, got, want)
		}
	})
}

// decode decodes the first JSON value of b the way Canonical does.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// sortedKeys walks the tokens of b and reports the first object whose keys
// are not in strictly increasing bytewise order.
func sortedKeys(b []byte) error {
	type frame struct {
		object, wantKey bool
		last            *string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			if len(stack) == 0 {
				return nil
			}
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			key := tok.(string)
			if top.last != nil && *top.last >= key {
				return &keyOrderError{*top.last, key}
			}
			top.last, top.wantKey = &key, false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

type keyOrderError struct{ prev, next string }

func (e *keyOrderError) Error() string {
	return "key " + strconv.Quote(e.next) + " follows " + strconv.Quote(e.prev) + "; want keys in increasing bytewise order"
}

func TestSortedKeysOracle(t *testing.T) {
	// The fuzz oracle must itself catch unsorted keys, at any depth.
	for _, in := range []string{`{"b":1,"a":2}`, `{"a":{"d":[{"y":1,"x":2}]}}`, `{"a":[{}],"c":{"e":1,"d":2}}`, `{"a":1,"a":2}`} {
		if err := sortedKeys([]byte(in)); err == nil {
			t.Errorf("sortedKeys(%q) = nil; want an error", in)
		}
	}
	for _, in := range []string{`{}`, `{"a":[{"x":1,"y":{"p":[],"q":"}"}}],"b":{"c":null}}`} {
		if err := sortedKeys([]byte(in)); err != nil {
			t.Errorf("sortedKeys(%q) = %v; want nil", in, err)
		}
	}
}
