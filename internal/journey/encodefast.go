package journey

import (
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The two requests every journey sends, its login's body and its
// user_message, encoded by appending when each string is plain (printable
// ASCII that JSON writes as it is); otherwise by the JSON encoder. Either
// way the bytes are the encoder's (FuzzFastEncode): reflection over the
// struct cost more than a tenth of a minimal journey's user time.

// encodeCredentials is the login body of c, as jsonv1.Marshal writes it.
func encodeCredentials(c protocol.Credentials) ([]byte, error) {
	if plainJSON(c.Email) && plainJSON(c.Password) {
		b := make([]byte, 0, len(`{"email":"","password":""}`)+len(c.Email)+len(c.Password))
		b = append(b, `{"email":"`...)
		b = append(b, c.Email...)
		b = append(b, `","password":"`...)
		b = append(b, c.Password...)
		return append(b, `"}`...), nil
	}
	return jsonv1.Marshal(c)
}

// encodeUserMessage is the user_message frame of m, as jsonv1.Marshal
// writes it.
func encodeUserMessage(m protocol.UserMessage) ([]byte, error) {
	if !plainJSON(m.MessageID) || !plainJSON(m.Content) || !plainJSON(m.ThreadID) {
		return jsonv1.Marshal(userMessage{Type: protocol.MessageUser, Payload: m})
	}
	const head = `{"type":"` + protocol.MessageUser + `","payload":{"message_id":"`
	b := make([]byte, 0, len(head)+len(m.MessageID)+len(m.Content)+len(m.ThreadID)+48)
	b = append(b, head...)
	b = append(b, m.MessageID...)
	b = append(b, `","content":"`...)
	b = append(b, m.Content...)
	if m.ThreadID != "" { // omitempty
		b = append(b, `","thread_id":"`...)
		b = append(b, m.ThreadID...)
	}
	return append(b, `"}}`...), nil
}

// plainJSON reports whether JSON writes s between its quotes as it is:
// printable ASCII, no quote or backslash, and none of the characters the
// encoder escapes for HTML (<, >, &).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			return false
		case c == '"' || c == '\\' || c == '<' || c == '>' || c == '&':
			return false
		}
	}
	return true
}
