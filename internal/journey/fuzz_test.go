package journey_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// readable is the first half of the oracle's contract, read independently
// of it: a frame it can sequence at all is one JSON object (type errors
// aside) with a non-empty string type, a positive integer seq and data
// that is not null. Anything else comes back as the zero Frame.
func readable(frame []byte) bool {
	var loose struct {
		Type string
		Seq  int64
		Data json.RawMessage
	}
	err := json.Unmarshal(frame, &loose)
	if _, typeErr := err.(*json.UnmarshalTypeError); err != nil && !typeErr {
		return false
	}
	return loose.Type != "" && loose.Seq > 0 && string(loose.Data) != "null"
}

// envelope is the second half: a frame accepted without a bad_envelope
// violation decodes as a [protocol.Envelope] with a timestamp, and its
// data, when present, is an object. The oracle reads a frame without data
// as one with empty data (its decoder reuses one data struct and cannot
// tell them apart); the event types that need data fields are refused for
// lacking them.
func envelope(frame []byte) (protocol.Envelope, bool) {
	var e protocol.Envelope
	if !readable(frame) || json.Unmarshal(frame, &e) != nil {
		return e, false
	}
	data := bytes.TrimSpace(e.Data)
	return e, !e.Timestamp.IsZero() && (e.Data == nil || len(data) > 0 && data[0] == '{')
}

// FuzzOracle feeds an oracle the frames of one connection, one per line
// of the input. It must never panic; a frame it cannot read (not one JSON
// object, no type, no positive seq, null data) must come back as the zero
// Frame with a bad_envelope violation; any other frame that is not a
// whole envelope (no timestamp, fields of the wrong type) must still be
// reported as bad_envelope, never accepted; a frame accepted without a
// violation carries its type and seq in the returned Frame. Every
// violation has a kind and a detail, and its sample is redacted and at
// most MaxSample bytes. The verdict on a frame's envelope is the frame's
// alone: the same on fresh oracles as in the sequence.
func FuzzOracle(f *testing.F) {
	clean := bytes.Join(number(cleanRun()), []byte("\n"))
	f.Add(clean)
	f.Add(bytes.Join(number(edit(cleanRun(), func(e []ev) []ev { return append(e[:2], e[3:]...) })), []byte("\n")))
	f.Add([]byte(`not json` + "\n" + `[1,2]` + "\n" + `{"seq":1}` + "\n" + `{"type":"pong","seq":-1,"timestamp":` + ts + `,"data":{}}`))
	f.Add([]byte(`{"type":"agent_completed","seq":3,"timestamp":` + ts + `,"data":{"result":"x","timings":{"db_ms":"NaN"}}}` + "\n" + `{"type":"pong","seq":2,"timestamp":` + ts + `,"data":{"nonce":"` + jwt + `"}}`))
	f.Fuzz(func(t *testing.T, input []byte) {
		o := journey.NewOracle(me)
		o.Expect(mid1, "nonce1")
		for _, frame := range bytes.Split(input, []byte("\n")) {
			got, vs := o.Observe(frame)
			checkViolations(t, frame, vs)
			// Whether a frame is an envelope is the frame's alone: no
			// state may leak from one frame (or decoder) to the next.
			_, fresh1 := journey.NewOracle(me).Observe(frame)
			_, fresh2 := journey.NewOracle(me).Observe(frame)
			if bad := hasKind(vs, journey.ViolationBadEnvelope); bad != hasKind(fresh1, journey.ViolationBadEnvelope) || bad != hasKind(fresh2, journey.ViolationBadEnvelope) {
				t.Fatalf("Observe(%q) = %v in sequence, %v and %v on fresh oracles; want the same envelope verdict", frame, vs, fresh1, fresh2)
			}
			e, ok := envelope(frame)
			switch {
			case !ok && !hasKind(vs, journey.ViolationBadEnvelope):
				t.Fatalf("Observe(%q) = %+v, %v; want a bad_envelope violation: not an envelope", frame, got, vs)
			case !readable(frame) && (got.Type != "" || got.Seq != 0):
				t.Fatalf("Observe(%q) = %+v; want the zero Frame for a frame that cannot be read", frame, got)
			case len(vs) == 0 && (got.Type != e.Type || got.Seq != e.Seq):
				t.Fatalf("Observe(%q) = type %q seq %d; want %q %d", frame, got.Type, got.Seq, e.Type, e.Seq)
			}
		}
		checkViolations(t, nil, o.Done())
	})
}

func hasKind(vs []journey.Violation, kind string) bool {
	for _, v := range vs {
		if v.Kind == kind {
			return true
		}
	}
	return false
}

func checkViolations(t *testing.T, frame []byte, vs []journey.Violation) {
	t.Helper()
	for _, v := range vs {
		if v.Kind == "" || v.Detail == "" {
			t.Fatalf("Observe(%q) reported %+v; want a kind and a detail", frame, v)
		}
		if len(v.Sample) > journey.MaxSample+len("…") || strings.Contains(v.Sample, jwt) {
			t.Fatalf("Observe(%q) reported a sample of %d bytes %q; want at most %d, redacted", frame, len(v.Sample), v.Sample, journey.MaxSample)
		}
	}
}

// FuzzChatStreamRoundTrip writes a sound chat completion stream the way
// an OpenAI-compatible server does (a role chunk, one chunk per content
// piece, a finish_reason, usage, [DONE]), in the spellings the format
// allows (data: with or without its space, CRLF line ends, keep-alive
// comments), and reads it back: the content, the tokens, the first token
// and the finish reason must be what was written, with no problem.
func FuzzChatStreamRoundTrip(f *testing.F) {
	f.Add("n7f3a here it is", uint8(3), uint8(0))
	f.Add("", uint8(0), uint8(0xff))
	f.Add("data: [DONE]\n\n", uint8(1), uint8(5))
	f.Add("\u2028\x00\r\n:", uint8(2), uint8(6))
	f.Fuzz(func(t *testing.T, text string, size, style uint8) {
		text = strings.ToValidUTF8(text, "?")
		var pieces []string
		runes := []rune(text)
		for n := int(size%5) + 1; len(runes) > 0; {
			k := min(n, len(runes))
			pieces = append(pieces, string(runes[:k]))
			runes = runes[k:]
		}
		var body strings.Builder
		eol := "\n"
		if style&2 != 0 {
			eol = "\r\n"
		}
		event := func(data string) {
			if style&4 != 0 {
				body.WriteString(": keep-alive" + eol)
			}
			prefix := "data: "
			if style&1 != 0 {
				prefix = "data:"
			}
			body.WriteString(prefix + data + eol + eol)
		}
		chunk := func(delta map[string]any, finish any, usage any) {
			c := map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
			if usage != nil {
				c["choices"], c["usage"] = []any{}, usage
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			event(string(b))
		}
		chunk(map[string]any{"role": "assistant"}, nil, nil)
		for _, p := range pieces {
			chunk(map[string]any{"content": p}, nil, nil)
		}
		chunk(map[string]any{}, "stop", nil)
		if style&8 != 0 {
			chunk(nil, nil, map[string]int{"prompt_tokens": 3, "completion_tokens": len(pieces), "total_tokens": 3 + len(pieces)})
		}
		event("[DONE]")
		tick := time.Unix(0, 0)
		s, err := journey.ReadChatStream(strings.NewReader(body.String()), func() time.Time { tick = tick.Add(time.Millisecond); return tick })
		first := ""
		if len(pieces) > 0 {
			first = pieces[0]
		}
		if err != nil || len(s.Problems) > 0 || !s.Done || s.FinishReason != "stop" || s.Content != text || len(s.Tokens) != len(pieces) || s.FirstToken != first || s.ID != "chatcmpl-1" {
			t.Fatalf("ReadChatStream(%q) = content %q, %d tokens, first %q, finish %q, done %t, problems %q, %v; want %q in %d tokens, first %q, stop, done, no problem",
				body.String(), s.Content, len(s.Tokens), s.FirstToken, s.FinishReason, s.Done, s.Problems, err, text, len(pieces), first)
		}
	})
}

// FuzzRedact checks that a secret never survives Redact where a report
// would carry it: in a JSON field named for a secret (any JSON string,
// escaped as encoding/json writes it), after "Bearer ", and as a JWT.
func FuzzRedact(f *testing.F) {
	f.Add("hunter22", "prefix ", " suffix")
	f.Add(`quo"te\`, `{"a":"`, `"}`)
	f.Add(jwt, "Bearer\t", "")
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		q, _ := json.Marshal(secret)
		for _, field := range []string{"password", "access_token", "Refresh_Token", "token", "secret", "api_key"} {
			in := `{"` + field + `" :` + string(q) + `}`
			if got, want := journey.Redact(in), `{"`+field+`" :"`+journey.Redacted+`"}`; got != want {
				t.Fatalf("Redact(%q) = %q; want %q", in, got, want)
			}
		}
		if !validToken(secret) {
			return
		}
		for _, in := range []string{"Authorization: Bearer " + secret, fmt.Sprintf("%s.%s.%s", secret, secret, secret)} {
			in = before + " " + in + " " + after
			if got := journey.Redact(in); strings.Contains(got, secret) && !strings.Contains(before+after+"Authorization: Bearer "+journey.Redacted, secret) {
				t.Fatalf("Redact(%q) = %q; the secret %q is still there", in, got, secret)
			}
		}
	})
}

// validToken reports whether s looks like a token part: 8 or more
// base64url characters.
func validToken(s string) bool {
	if len(s) < 8 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
