package profile

import "testing"

func TestReadThroughEachProfile(t *testing.T) {
	for _, tc := range []struct {
		profile, frame string
		want           Event
	}{
		{"goldenpath", `{"type":"agent_started","seq":3,"timestamp":"t","data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1"}}`,
			Event{Type: "agent_started", Kind: KindStarted, RunID: "r1", ThreadID: "t1", MessageID: "m1", UserID: "u1", Seq: 3, HasSeq: true}},
		{"goldenpath", `{"type":"agent_completed","seq":7,"data":{"run_id":"r1","result":{"content":"the answer"}}}`,
			Event{Type: "agent_completed", Kind: KindCompleted, RunID: "r1", Seq: 7, HasSeq: true, Ends: true, Answer: "the answer"}},
		{"goldenpath", `{"type":"heartbeat","seq":8,"data":{}}`, Event{Type: "heartbeat", Kind: KindIgnore, Seq: 8, HasSeq: true}},
		{"goldenpath", `{"type":"surprise","seq":9,"data":{}}`, Event{Type: "surprise", Kind: KindUnknown, Seq: 9, HasSeq: true}},
		// Netra: no seq; a sub-agent's agent_completed does not end the run, the Supervisor's does.
		{"netra", `{"type":"agent_completed","data":{"agent_name":"triage","run_id":"vu1-1","user_id":"e2e-a","result":{"final_response":"part"}}}`,
			Event{Type: "agent_completed", Kind: KindCompleted, RunID: "vu1-1", MessageID: "vu1-1", UserID: "e2e-a", Answer: "part"}},
		{"netra", `{"type":"agent_completed","data":{"agent_name":"Supervisor","run_id":"vu1-1","result":{"final_response":"done"}}}`,
			Event{Type: "agent_completed", Kind: KindCompleted, RunID: "vu1-1", MessageID: "vu1-1", Ends: true, Answer: "done"}},
		{"netra", `{"type":"agent_completed","data":{"agent_name":"Supervisor","run_id":"r","result":"older build"}}`,
			Event{Type: "agent_completed", Kind: KindCompleted, RunID: "r", MessageID: "r", Ends: true, Answer: "older build"}},
		// Another build's shape: system_message wrapping the event, fields under payload.
		{"netra", `{"type":"system_message","event":"agent_started","payload":{"run_id":"r2","thread_id":"th"}}`,
			Event{Type: "agent_started", Kind: KindStarted, RunID: "r2", MessageID: "r2", ThreadID: "th"}},
		// The plain acknowledgement is not a response.
		{"netra", `{"type":"system_message","data":{"content":"Message received","status":"acknowledged"}}`,
			Event{Type: "system_message", Kind: KindIgnore}},
		// handshake_response carries thread_id at the top level.
		{"netra", `{"type":"handshake_response","thread_id":"thread_ws_1","run_id":"run_x"}`,
			Event{Type: "handshake_response", Kind: KindIgnore, ThreadID: "thread_ws_1", RunID: "run_x", MessageID: "run_x"}},
	} {
		p, err := Load(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Read([]byte(tc.frame))
		if err != nil || got != tc.want {
			t.Errorf("%s Read(%s) = %+v, %v; want %+v", tc.profile, tc.frame, got, err, tc.want)
		}
	}
}

func TestReadRefusesNonEvents(t *testing.T) {
	p, err := Load("goldenpath")
	if err != nil {
		t.Fatal(err)
	}
	for _, frame := range []string{`not json`, `[1,2]`, `{"seq":1}`, `{"type":""}`, `{"type":7}`} {
		if _, err := p.Read([]byte(frame)); err == nil {
			t.Errorf("Read(%s) = nil error; want the frame refused", frame)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"type":"agent_completed","seq":7,"data":{"run_id":"r1","result":{"content":"x"}}}`))
	f.Add([]byte(`{"type":"system_message","event":"agent_started","payload":{"run_id":"r2"}}`))
	f.Add([]byte(`{"type":"agent_completed","seq":1e400}`))
	profiles := []*Profile{}
	for _, n := range []string{"goldenpath", "netra"} {
		p, err := Load(n)
		if err != nil {
			f.Fatal(err)
		}
		profiles = append(profiles, p)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, p := range profiles {
			e, err := p.Read(frame)
			if err == nil && e.Type == "" {
				t.Errorf("Read(%q) = an event without a type and no error", frame)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, n := range Builtins() {
		b, err := builtins.ReadFile("builtin/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.yaml", b)
		if err == nil && p.Validate() != nil {
			t.Errorf("Parse accepted a profile that does not validate")
		}
	})
}
