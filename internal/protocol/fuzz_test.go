package protocol_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The seeds below are frames as the reference backend writes them and as
// a client sends them; more are in testdata/fuzz/FuzzName.

const seedTS = `"2026-01-02T03:04:05.123456789Z"`

var serverFrames = []string{
	`{"type":"connection_established","seq":1,"timestamp":` + seedTS + `,"data":{"connection_id":"c_1","user_id":"u_1","server_time":` + seedTS + `}}`,
	`{"type":"agent_started","seq":2,"timestamp":` + seedTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u_1","agent_name":"golden-agent","agent_instance_id":"i1","timings":{"factory_ms":0.12,"config_ms":0.01}}}`,
	`{"type":"agent_thinking","seq":3,"timestamp":` + seedTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u_1","reasoning":"working <on> it"}}`,
	`{"type":"tool_completed","seq":5,"timestamp":` + seedTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u_1","tool_name":"search_docs","tool_call_id":"call_1","result":{"matches":[1,2.50,"x"]}}}`,
	`{"type":"agent_completed","seq":6,"timestamp":"2026-01-02T04:04:05+01:00","data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u_1","result":{"content":"Simulated answer: hello"},"completed_at":` + seedTS + `,"timings":{"execution_ms":201.5,"db_ms":0.4}}}`,
	`{"type":"agent_error","seq":7,"timestamp":` + seedTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u_1","code":"internal","message":"boom"}}`,
	`{"type":"error_message","seq":8,"timestamp":` + seedTS + `,"data":{"code":"invalid_json","message":"frame is not JSON"}}`,
	`{"type":"heartbeat","seq":9,"timestamp":` + seedTS + `,"data":{"server_time":` + seedTS + `}}`,
	`{"type":"pong","seq":10,"timestamp":` + seedTS + `,"data":{"nonce":"p1"}}`,
	`{"type":"agent_started","seq":1e400}`,
	`{"TYPE":"pong","seq":1,"data":null}`,
}

// eventData returns a new value of the data type of a server event type.
func eventData(typ string) any {
	switch typ {
	case protocol.EventConnectionEstablished:
		return new(protocol.ConnectionEstablished)
	case protocol.EventAgentStarted:
		return new(protocol.AgentStarted)
	case protocol.EventAgentThinking:
		return new(protocol.AgentThinking)
	case protocol.EventToolExecuting:
		return new(protocol.ToolExecuting)
	case protocol.EventToolCompleted:
		return new(protocol.ToolCompleted)
	case protocol.EventAgentCompleted:
		return new(protocol.AgentCompleted)
	case protocol.EventAgentError:
		return new(protocol.AgentError)
	case protocol.EventErrorMessage:
		return new(protocol.ErrorMessage)
	case protocol.EventHeartbeat:
		return new(protocol.Heartbeat)
	case protocol.EventPong:
		return new(protocol.Ping)
	}
	return nil
}

// FuzzEnvelope decodes server frames as a client does. A frame that
// decodes as an [protocol.Envelope] must encode, and decode again to the
// same envelope (type, seq, the same instant and offset, the same data
// value); its data, decoded as its type's struct, must reach a fixed point
// after one encoding: encode(decode(encode(d))) == encode(d).
func FuzzEnvelope(f *testing.F) {
	for _, s := range serverFrames {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var e protocol.Envelope
		if json.Unmarshal(frame, &e) != nil {
			return
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("json.Marshal(%+v), decoded from %q: %v", e, frame, err)
		}
		var back protocol.Envelope
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode(encode(%q)) = %v; want the envelope back", frame, err)
		}
		_, off1 := e.Timestamp.Zone()
		_, off2 := back.Timestamp.Zone()
		if back.Type != e.Type || back.Seq != e.Seq || !back.Timestamp.Equal(e.Timestamp) || off1 != off2 {
			t.Errorf("decode(encode(x)) = {%q %d %s}; want x = {%q %d %s} (frame %q)", back.Type, back.Seq, back.Timestamp, e.Type, e.Seq, e.Timestamp, frame)
		}
		if want, got := jsonValue(t, e.Data), jsonValue(t, back.Data); !reflect.DeepEqual(got, want) {
			t.Errorf("decode(encode(x)).Data = %#v; want x.Data = %#v (frame %q)", got, want, frame)
		}
		if d := eventData(e.Type); d != nil && len(e.Data) > 0 {
			fixedPoint(t, e.Data, d)
		}
	})
}

// FuzzClientMessage decodes client frames as the hub does. A frame that
// decodes as a [protocol.ClientMessage] must survive encode and decode
// unchanged, and so must a user_message or ping payload that decodes.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"user_message","payload":{"message_id":"m1","content":"hello <world> & you","thread_id":"t1"}}`,
		`{"type":"user_message","payload":{"message_id":"m1","content":"x"}}`,
		`{"type":"ping","payload":{"nonce":"p1"}}`,
		`{"type":"ping"}`,
		`{"type":"user_message","payload":"\ud800"}`,
		`{"type":"user_message","payload":{"message_id":7}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m protocol.ClientMessage
		if json.Unmarshal(frame, &m) != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal(%+v), decoded from %q: %v", m, frame, err)
		}
		var back protocol.ClientMessage
		if err := json.Unmarshal(b, &back); err != nil || back.Type != m.Type {
			t.Fatalf("decode(encode(%q)) = %+v, %v; want type %q", frame, back, err, m.Type)
		}
		if want, got := jsonValue(t, m.Payload), jsonValue(t, back.Payload); !reflect.DeepEqual(got, want) {
			t.Errorf("decode(encode(x)).Payload = %#v; want %#v (frame %q)", got, want, frame)
		}
		switch m.Type {
		case protocol.MessageUser:
			roundTrip(t, m.Payload, new(protocol.UserMessage))
		case protocol.MessagePing:
			roundTrip(t, m.Payload, new(protocol.Ping))
		}
	})
}

// FuzzChecksum checks that a configuration's checksum depends on its
// value, not its spelling: the values object reindented, or re-encoded
// with HTML escaping and its keys sorted, has the same checksum, and
// VerifyChecksum agrees with Checksum(Canonical(values)).
func FuzzChecksum(f *testing.F) {
	f.Add([]byte(`{"agent_name":"golden-agent","think_ms":200,"tool_calls":1}`))
	f.Add([]byte(`{"b":[{"d":1.50,"c":"<&>"}],"a":"\u00e9"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, values []byte) {
		c, err := protocol.Canonical(values)
		if err != nil {
			return
		}
		sum := protocol.Checksum(c)
		if ok, err := protocol.VerifyChecksum(values, sum); !ok || err != nil {
			t.Fatalf("VerifyChecksum(%q, %s) = %t, %v; want true", values, sum, ok, err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, values, "\n", "\t "); err != nil {
			t.Fatalf("json.Indent(%q): %v, but Canonical accepted it", values, err)
		}
		if ok, err := protocol.VerifyChecksum(indented.Bytes(), sum); !ok || err != nil {
			t.Errorf("VerifyChecksum(%q, %s) = %t, %v; want true: %q reindented", indented.Bytes(), sum, ok, err, values)
		}
		dec := json.NewDecoder(bytes.NewReader(values))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", values, err)
		}
		escaped, err := json.Marshal(v) // sorted keys, HTML escaped, numbers as written
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		if ok, err := protocol.VerifyChecksum(escaped, sum); !ok || err != nil {
			t.Errorf("VerifyChecksum(%q, %s) = %t, %v; want true: %q re-encoded", escaped, sum, ok, err, values)
		}
	})
}

// jsonValue decodes raw (empty: nil) keeping numbers as written.
func jsonValue(t *testing.T, raw []byte) any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// fixedPoint decodes raw into v (a pointer to a typed struct); when it
// decodes, encoding it, decoding and encoding again must give the same
// bytes.
func fixedPoint(t *testing.T, raw []byte, v any) {
	t.Helper()
	if json.Unmarshal(raw, v) != nil {
		return
	}
	once, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%T decoded from %q): %v", v, raw, err)
	}
	again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := json.Unmarshal(once, again); err != nil {
		t.Fatalf("decode %T from its own encoding %q: %v", v, once, err)
	}
	twice, err := json.Marshal(again)
	if err != nil || !bytes.Equal(twice, once) {
		t.Errorf("encode(decode(%s)) = %s, %v; want the same bytes (%T from %q)", once, twice, err, v, raw)
	}
}

// roundTrip decodes raw into v (a pointer to a struct of strings); when it
// decodes, decode(encode(v)) must equal v.
func roundTrip(t *testing.T, raw []byte, v any) {
	t.Helper()
	if json.Unmarshal(raw, v) != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%+v): %v", v, err)
	}
	back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := json.Unmarshal(b, back); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("decode(encode(%+v)) = %+v, %v; want it back (payload %q)", v, back, err, raw)
	}
}
