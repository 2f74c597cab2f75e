package journey

import (
	"bytes"
	cryptorand "crypto/rand"
	"strings"
	"testing"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// encodeCases are strings the fast encoders take as they are and strings
// they must leave to the JSON encoder.
var encodeCases = []string{
	"", "a", "m1-9f3c2a", "golden path question 1: 9f3c2a", "user@example.test", "pw-~!#$%^*()_+{}|:?`",
	`quote"d`, `back\slash`, "<b>", "a>b", "a&b", "tab\there", "new\nline", "\x00", "\x7f", "é", "日本",
	"\u2028", "\xff\xfe", "a\x1f",
}

// TestFastEncodeIsTheEncoders: for every case, the bytes are those of
// jsonv1.Marshal, whichever path wrote them, and plain strings take the
// fast path.
func TestFastEncodeIsTheEncoders(t *testing.T) {
	for _, a := range encodeCases {
		for _, b := range encodeCases {
			encodeAgrees(t, a, b, a+b, b)
		}
	}
	if !plainJSON("golden path question 1: 9f3c2a") || plainJSON("<") || plainJSON("é") || plainJSON("\x7f") {
		t.Error("plainJSON takes a string it should leave, or leaves a plain one")
	}
}

// FuzzFastEncode: whatever the strings, the login body and the
// user_message are the bytes jsonv1.Marshal writes.
func FuzzFastEncode(f *testing.F) {
	for i, s := range encodeCases {
		f.Add(s, encodeCases[(i+1)%len(encodeCases)], s, "")
	}
	f.Fuzz(func(t *testing.T, a, b, c, d string) { encodeAgrees(t, a, b, c, d) })
}

func encodeAgrees(t *testing.T, email, password, content, thread string) {
	t.Helper()
	cr := protocol.Credentials{Email: email, Password: password}
	got, err := encodeCredentials(cr)
	want, werr := jsonv1.Marshal(cr)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("credentials %q %q: got %q (%v), the encoder %q (%v)", email, password, got, err, want, werr)
	}
	m := protocol.UserMessage{MessageID: password, Content: content, ThreadID: thread}
	got, err = encodeUserMessage(m)
	want, werr = jsonv1.Marshal(userMessage{Type: protocol.MessageUser, Payload: m})
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("user_message %+v: got %q (%v), the encoder %q (%v)", m, got, err, want, werr)
	}
}

func BenchmarkEncodeUserMessage(b *testing.B) {
	m := protocol.UserMessage{MessageID: "m1-9f3c2a7d", Content: "golden path question 1: 9f3c2a7d", ThreadID: "thread-0c9a7e51"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = encodeUserMessage(m)
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = jsonv1.Marshal(userMessage{Type: protocol.MessageUser, Payload: m})
		}
	})
}

// BenchmarkNonce: a request's id from math/rand/v2 (nonce) and from
// crypto/rand (rand.Text, the earlier default), side by side.
func BenchmarkNonce(b *testing.B) {
	b.Run("math_rand_v2", func(b *testing.B) {
		for b.Loop() {
			_ = nonce()
		}
	})
	b.Run("crypto_rand_Text", func(b *testing.B) {
		for b.Loop() {
			_ = cryptorand.Text()
		}
	})
}

func TestNonce(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		n := nonce()
		if len(n) != len(cryptorand.Text()) || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" || seen[n] {
			t.Fatalf("nonce %q: want 26 base32 letters, as rand.Text's, never repeated", n)
		}
		seen[n] = true
	}
}
