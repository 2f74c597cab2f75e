package profile

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzReadThroughPaths reads frames through the built-in profiles that
// read events (goldenpath, netra). Read fails exactly when the frame is
// not a JSON object; an event read is the frame's own, not its spelling's:
// the frame decoded and encoded again (keys sorted, compact, escapes
// rewritten) reads as the same event. An event has a type; only a
// completed event ends a run or carries an answer; an event without a seq
// has seq 0.
func FuzzReadThroughPaths(f *testing.F) {
	f.Add([]byte(`{"type":"agent_completed","seq":7,"timestamp":"t","data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","result":{"content":"the answer"}}}`))
	f.Add([]byte(`{"type":"system_message","event":"agent_started","payload":{"run_id":"r2","thread_id":"th"}}`))
	f.Add([]byte(`{"type":"agent_completed","data":{"agent_name":"Supervisor","run_id":"vu1-1","result":{"final_response":"done"}}}`))
	f.Add([]byte(`{"type":"handshake_response","thread_id":"thread_ws_1","run_id":"run_x","data":7}`))
	f.Add([]byte(`{"type":"agent_started","seq":-9223372036854775808,"data":{"run_id":{"a":1}}}`))
	f.Add([]byte(`{"type":"a\u0000","seq":1e400}`))
	var profiles []*Profile
	for _, n := range []string{"goldenpath", "netra"} {
		p, err := Load(n)
		if err != nil {
			f.Fatal(err)
		}
		profiles = append(profiles, p)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var top map[string]any
		isObject := json.Unmarshal(frame, &top) == nil && top != nil
		for _, p := range profiles {
			e, err := p.Read(frame)
			if err != nil {
				if typ, _ := Lookup(top, p.Events.Type).(string); isObject && typ != "" {
					t.Fatalf("%s: Read(%q) = %v; want the event of type %q", p.Name, frame, err, typ)
				}
				continue
			}
			if !isObject {
				t.Fatalf("%s: Read(%q) = %+v, no error; want an error: not a JSON object", p.Name, frame, e)
			}
			switch {
			case e.Type == "":
				t.Fatalf("%s: Read(%q) = %+v; an event without a type and no error", p.Name, frame, e)
			case (e.Ends || e.Answer != "") && e.Kind != KindCompleted:
				t.Fatalf("%s: Read(%q) = %+v; only a completed event ends a run or carries an answer", p.Name, frame, e)
			case !e.HasSeq && e.Seq != 0:
				t.Fatalf("%s: Read(%q) = %+v; seq %d without HasSeq", p.Name, frame, e, e.Seq)
			}
			again, err := json.Marshal(top)
			if err != nil {
				t.Fatalf("json.Marshal(%#v): %v", top, err)
			}
			if e2, err := p.Read(again); err != nil || e2 != e {
				t.Fatalf("%s: Read(%q) = %+v, %v; want %+v, the event of the same frame spelt %q", p.Name, again, e2, err, e, frame)
			}
		}
	})
}

// FuzzParseRoundTrip parses profile files. A file that parses is valid,
// and written back as YAML it parses again to the same profile: a
// profile's own encoding is at a fixed point.
func FuzzParseRoundTrip(f *testing.F) {
	for _, n := range Builtins() {
		b, err := builtins.ReadFile("builtin/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nstream: {kind: websocket, path: /ws, token: header}\nauth: {login: {path: /l}, token: t}\nrequest: {body: {c: \"{{.Content}}\", n: 1.0, big: 1e400}}\nevents: {type: type, map: {started: [s], completed: [c]}, answer: [a]}\n"))
	f.Add([]byte("name: &a x\ndescription: *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.yaml", b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted a profile that does not validate: %v", b, err)
		}
		once, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("yaml.Marshal(the profile of %q): %v", b, err)
		}
		p2, err := Parse("again.yaml", once)
		if err != nil {
			t.Fatalf("Parse(%q), the profile of %q written back: %v", once, b, err)
		}
		twice, err := yaml.Marshal(p2)
		if err != nil || !bytes.Equal(twice, once) {
			t.Fatalf("the profile of %q written back is %q, then %q, %v; want the same", b, once, twice, err)
		}
	})
}
