package journey_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

const (
	ts      = `"2026-01-02T03:04:05.123456789Z"`
	me      = "u_me"
	mid1    = "m1-nonce1"
	content = "golden path question 1: nonce1"
)

// ev is one server frame before numbering: its type and data.
type ev struct{ typ, data string }

// ref is the run reference of run r1 of message mid1 for user me.
func ref(extra string) string {
	return `{"run_id":"r1","thread_id":"t1","message_id":"` + mid1 + `","user_id":"` + me + `"` + extra + `}`
}

// cleanRun is connection_established and a complete run.
func cleanRun() []ev {
	return []ev{
		{"connection_established", `{"connection_id":"c1","user_id":"` + me + `","server_time":` + ts + `}`},
		{"agent_started", ref(`,"agent_name":"a","agent_instance_id":"i1","timings":{"factory_ms":0.1,"config_ms":0.01}`)},
		{"agent_thinking", ref(`,"reasoning":"working on it"`)},
		{"tool_executing", ref(`,"tool_name":"search_docs","tool_call_id":"call_1"`)},
		{"tool_completed", ref(`,"tool_name":"search_docs","tool_call_id":"call_1","result":{"matches":1}`)},
		{"agent_completed", ref(`,"result":{"content":"Simulated answer: ` + content + `"},"completed_at":` + ts + `,"timings":{"execution_ms":1,"db_ms":0.5}`)},
	}
}

// number turns events into frames with seq 1, 2, ...
func number(evs []ev) [][]byte {
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = fmt.Appendf(nil, `{"type":%q,"seq":%d,"timestamp":%s,"data":%s}`, e.typ, i+1, ts, e.data)
	}
	return out
}

// edit returns a copy of s changed by fn.
func edit[T any](s []T, fn func([]T) []T) []T { return fn(slices.Clone(s)) }

func TestOracle(t *testing.T) {
	clean := number(cleanRun())
	swap := func(i, j int) func([][]byte) [][]byte {
		return func(f [][]byte) [][]byte { f[i], f[j] = f[j], f[i]; return f }
	}
	evEdit := func(fn func([]ev) []ev) [][]byte { return number(edit(cleanRun(), fn)) }
	replace := func(i int, e ev) func([]ev) []ev {
		return func(evs []ev) []ev { evs[i] = e; return evs }
	}
	insert := func(i int, e ev) func([]ev) []ev {
		return func(evs []ev) []ev { return slices.Insert(evs, i, e) }
	}
	foreignNonce := func(frame []byte) (string, bool) {
		if bytes.Contains(frame, []byte("nonce-of-u2")) {
			return "u_2", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   string // the only violation kind expected; "" for none
	}{
		{"clean", clean, ""},
		{"clean with a heartbeat and a pong", evEdit(func(e []ev) []ev {
			return slices.Insert(e, 3, ev{"heartbeat", `{"server_time":` + ts + `}`}, ev{"pong", `{"nonce":"p1"}`})
		}), ""},
		{"gap", edit(clean, func(f [][]byte) [][]byte { return slices.Delete(f, 2, 3) }), journey.ViolationSeqGap},
		{"gap of a tool_executing", edit(clean, func(f [][]byte) [][]byte { return slices.Delete(f, 3, 4) }), journey.ViolationSeqGap},
		{"gap of agent_started", edit(clean, func(f [][]byte) [][]byte { return slices.Delete(f, 1, 2) }), journey.ViolationSeqGap},
		{"duplicate", edit(clean, func(f [][]byte) [][]byte { return slices.Insert(f, 3, f[2]) }), journey.ViolationSeqDuplicate},
		{"duplicate agent_started", edit(clean, func(f [][]byte) [][]byte { return slices.Insert(f, 2, f[1]) }), journey.ViolationSeqDuplicate},
		{"reorder", edit(clean, swap(3, 4)), journey.ViolationSeqReorder},
		{"reorder of agent_started", edit(clean, swap(1, 2)), journey.ViolationSeqReorder},
		{"thinking before started", evEdit(func(e []ev) []ev { e[1], e[2] = e[2], e[1]; return e }), journey.ViolationGrammar},
		{"started twice", evEdit(insert(2, cleanRun()[1])), journey.ViolationGrammar},
		{"no thinking", evEdit(func(e []ev) []ev { return slices.Delete(e, 2, 3) }), journey.ViolationGrammar},
		{"tool completed before executing", evEdit(func(e []ev) []ev { e[3], e[4] = e[4], e[3]; return e }), journey.ViolationGrammar},
		{"tool name mismatch", evEdit(replace(4, ev{"tool_completed", ref(`,"tool_name":"calculator","tool_call_id":"call_1","result":1`)})), journey.ViolationGrammar},
		{"event after terminal", evEdit(insert(6, ev{"agent_thinking", ref(`,"reasoning":"late"`)})), journey.ViolationGrammar},
		{"thread changes within run", evEdit(replace(2, ev{"agent_thinking", strings.Replace(ref(""), "t1", "t2", 1)})), journey.ViolationGrammar},
		{"foreign user", evEdit(insert(3, ev{"agent_thinking", strings.Replace(ref(""), me, "u_2", 1)})), journey.ViolationForeignUser},
		{"foreign connection", evEdit(replace(0, ev{"connection_established", `{"connection_id":"c1","user_id":"u_2","server_time":` + ts + `}`})), journey.ViolationForeignUser},
		{"unknown message_id", evEdit(insert(3, ev{"agent_thinking", strings.Replace(ref(""), mid1, "m-other", 1)})), journey.ViolationForeignMessage},
		{"answer without nonce", evEdit(replace(5, ev{"agent_completed", ref(`,"result":{"content":"an answer"},"completed_at":` + ts)})), journey.ViolationAnswerMismatch},
		{"answer without result", evEdit(replace(5, ev{"agent_completed", ref(`,"completed_at":` + ts)})), journey.ViolationAnswerMismatch},
		{"missing terminal", clean[:5], journey.ViolationMissingTerm},
		{"bad timestamp", edit(clean, func(f [][]byte) [][]byte {
			f[2] = bytes.Replace(f[2], []byte(ts), []byte(`"yesterday"`), 1)
			return f
		}), journey.ViolationBadEnvelope},
		{"not JSON", edit(clean, func(f [][]byte) [][]byte { return slices.Insert(f, 2, []byte("not json")) }), journey.ViolationBadEnvelope},
		{"missing run_id", evEdit(insert(3, ev{"agent_thinking", `{"thread_id":"t1","message_id":"` + mid1 + `","user_id":"` + me + `"}`})), journey.ViolationBadEnvelope},
		{"unknown type", evEdit(insert(3, ev{"agent_dreaming", ref("")})), journey.ViolationBadEnvelope},
		{"foreign data", evEdit(insert(3, ev{"heartbeat", `{"server_time":` + ts + `,"note":"nonce-of-u2"}`})), journey.ViolationForeignData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := journey.NewOracle(me, journey.WithForeign(foreignNonce))
			o.Expect(mid1, content)
			var got []journey.Violation
			for _, f := range tc.frames {
				_, vs := o.Observe(f)
				got = append(got, vs...)
			}
			got = append(got, o.Done()...)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("violations %v; want none", got)
			case tc.want != "" && len(got) == 0:
				t.Errorf("no violations; want %s", tc.want)
			}
			for _, v := range got {
				if v.Kind != tc.want {
					t.Errorf("violation %s; want only %q", v, tc.want)
				}
			}
		})
	}
}

// TestOracleRuns covers two requests on one connection.
func TestOracleRuns(t *testing.T) {
	second := func(runID string) []ev {
		r := func(extra string) string {
			return `{"run_id":"` + runID + `","thread_id":"t1","message_id":"m2","user_id":"` + me + `"` + extra + `}`
		}
		return []ev{
			{"agent_started", r(`,"agent_instance_id":"i2"`)},
			{"agent_thinking", r("")},
			{"agent_completed", r(`,"result":{"content":"q2"},"completed_at":` + ts)},
		}
	}
	for _, tc := range []struct {
		name, runID string
		want        []string // the distinct kinds expected, in order of first appearance
	}{
		{"distinct runs", "r2", nil},
		// m2's events are all refused, so m2 also never ends.
		{"run_id of another run", "r1", []string{journey.ViolationForeignMessage, journey.ViolationMissingTerm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := journey.NewOracle("") // adopts the user of connection_established
			o.Expect(mid1, content)
			o.Expect("m2", "q2")
			var got []journey.Violation
			for _, f := range number(append(cleanRun(), second(tc.runID)...)) {
				_, vs := o.Observe(f)
				got = append(got, vs...)
			}
			got = append(got, o.Done()...)
			if ks := slices.Compact(kinds(got)); !slices.Equal(ks, tc.want) {
				t.Errorf("violation kinds %v (%v); want %v", ks, got, tc.want)
			}
		})
	}
}

// TestOracleLateFrame: a frame that arrives after the reorder window is a
// gap, then a reorder; the seq is judged once each way.
func TestOracleLateFrame(t *testing.T) {
	evs := cleanRun()
	for range journey.ReorderWindow + 1 {
		evs = slices.Insert(evs, 3, ev{"heartbeat", `{"server_time":` + ts + `}`})
	}
	frames := number(evs)
	late := frames[2]
	frames = append(slices.Delete(frames, 2, 3), late)
	o := journey.NewOracle(me)
	o.Expect(mid1, content)
	var got []journey.Violation
	for _, f := range frames {
		_, vs := o.Observe(f)
		got = append(got, vs...)
	}
	got = append(got, o.Done()...)
	if ks := kinds(got); !slices.Equal(ks, []string{journey.ViolationSeqGap, journey.ViolationSeqReorder}) {
		t.Errorf("violations %v; want seq_gap then seq_reorder", got)
	}
}

func TestOracleFrame(t *testing.T) {
	o := journey.NewOracle(me)
	o.Expect(mid1, content)
	frames := number(cleanRun())
	f, vs := o.Observe(frames[0])
	if f.Type != "connection_established" || f.Seq != 1 || f.UserID != me || f.ServerTime.IsZero() || len(vs) > 0 {
		t.Errorf("Observe(established) = %+v, %v", f, vs)
	}
	for _, b := range frames[1:5] {
		o.Observe(b)
	}
	f, _ = o.Observe(frames[5])
	if f.Type != "agent_completed" || f.RunID != "r1" || !strings.Contains(f.Answer, content) || f.CompletedAt.IsZero() || len(f.Timings) != 2 {
		t.Errorf("Observe(completed) = %+v", f)
	}
}

// TestOracleManyRuns: past the few runs an oracle searches in order, it
// keeps them in maps, and judges them alike: twenty distinct runs are
// clean; a run that takes the run_id of one claimed before the switch,
// or after it, is refused.
func TestOracleManyRuns(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name      string
		reuse, of int // run reuse carries run of's run_id; -1: none
		want      []string
	}{
		{"distinct", -1, -1, nil},
		{"claimed in order", 15, 2, []string{journey.ViolationForeignMessage, journey.ViolationMissingTerm}},
		{"claimed in the map", 18, 12, []string{journey.ViolationForeignMessage, journey.ViolationMissingTerm}},
		{"within the first few", 5, 1, []string{journey.ViolationForeignMessage, journey.ViolationMissingTerm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := journey.NewOracle(me)
			evs := cleanRun()[:1]
			for i := range n {
				mid, rid := fmt.Sprintf("m%d", i), fmt.Sprintf("r-%d", i)
				if i == tc.reuse {
					rid = fmt.Sprintf("r-%d", tc.of)
				}
				o.Expect(mid, content)
				o.Expect(mid, "a second content, which must not replace the first")
				for _, e := range cleanRun()[1:] {
					e.data = strings.ReplaceAll(strings.ReplaceAll(e.data, `"r1"`, `"`+rid+`"`), mid1, mid)
					evs = append(evs, e)
				}
			}
			var got []journey.Violation
			for _, f := range number(evs) {
				_, vs := o.Observe(f)
				got = append(got, vs...)
			}
			got = append(got, o.Done()...)
			if ks := slices.Compact(kinds(got)); !slices.Equal(ks, tc.want) {
				t.Errorf("violation kinds %v (%v); want %v", ks, got, tc.want)
			}
		})
	}
}
