package journey

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const fastTS = `"2026-12-07T09:00:00.123456Z"`

// fastFrames are frames as servers write them: the fast path must take
// every one.
var fastFrames = []string{
	`{"type":"connection_established","seq":1,"timestamp":` + fastTS + `,"data":{"connection_id":"c1","user_id":"u1","server_time":` + fastTS + `}}`,
	`{"type":"agent_started","seq":2,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","agent_name":"a","agent_instance_id":"i1","timings":{"factory_ms":0.1,"config_ms":0.01}}}`,
	`{"type":"agent_thinking","seq":3,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","reasoning":"working on it \u00e9 \"quoted\""}}`,
	`{"type":"tool_executing","seq":4,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","tool_name":"search_docs","tool_call_id":"call_1","args":[1,-2.5e3,true,false,null,{"k":[]}]}}`,
	`{"type":"tool_completed","seq":5,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","tool_name":"search_docs","tool_call_id":"call_1","result":{"matches":1}}}`,
	`{"type":"agent_completed","seq":6,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","result":{"content":"Simulated answer: ünïcode"},"completed_at":` + fastTS + `,"timings":{"execution_ms":1,"db_ms":0.5}}}`,
	` { "type" : "pong" , "seq" : 7 , "timestamp" : "2026-12-07T09:00:00+01:00" , "data" : { "nonce" : "n1" } } ` + "\n",
	`{"type":"heartbeat","seq":8,"timestamp":"not a time","data":{"server_time":"2026-13-01T00:00:00Z"}}`,
	`{"type":"agent_error","seq":9,"timestamp":` + fastTS + `,"data":{"code":"E1","message":"m","timings":{"db_ms":"NaN","execution_ms":[1]}}}`,
	`{"seq":10,"type":"x","data":{}}`,
	`{}`,
	`{"type":"","seq":-0,"timestamp":` + fastTS + `}`,
	`{"type":"po\u006eg","seq":11,"timestamp":` + fastTS + `,"data":{"nonce":"a\nb \"q\" \u003c\u00e9\ud83d\ude00 \/ \\ \b\f\r\t"}}`,
	`{"type":"agent_completed","seq":6,"timestamp":` + fastTS + `,"data":{"run_id":"r1","thread_id":"t1","message_id":"m1","user_id":"u1","result":{"content":"Simulated answer (thinking steps: 1, tool calls: 1).\n\nYou asked: \"golden path question 1: EVXV\""},"completed_at":` + fastTS + `,"timings":{"execution_ms":0.270916,"db_ms":0.520182}}}`,
}

// slowFrames need encoding/json's reading: the fast path must decline
// each (and the general decoder read it as before).
var slowFrames = []string{
	`{"Type":"pong","seq":1,"data":{}}`,                               // a name in another case
	`{"type":"pong","seq":1,"data":{"Nonce":"n"}}`,                    // the same in data
	`{"type":"pong","seq":1,"data":{"nonce":"n","nonce":"m"}}`,        // a name twice
	`{"type":"pong","type":"x","seq":1}`,                              // the same in the envelope
	`{"type":"pong","seq":1,"data":{"tool-name":"n"}}`,                // a near miss
	`{"type":"pong","seq":1,"data":{"ſeq":"n"}}`,                      // bytes outside ASCII in a name
	`{"type":"pong","seq":1,"data":{"nonce":"\ud83d"}}`,               // a surrogate alone
	`{"type":"pong","seq":1,"data":{"nonce":"\ude00\ud83d"}}`,         // a pair the wrong way round
	`{"type":"pong","seq":1,"data":{"nonce":"\ud83d\u0041"}}`,         // a surrogate and no pair
	`{"\u0074ype":"pong","seq":1}`,                                    // an escape in a name
	`{"type":"pong","seq":1,"timestamp":"2026\u002d12-07T09:00:00Z"}`, // an escape in a time
	`{"type":"pong","seq":1.0}`,                                       // seq not written as an integer
	`{"type":"pong","seq":1e2}`,                                       // nor here
	`{"type":"pong","seq":99999999999999999999}`,                      // nor fitting an int64
	`{"type":"pong","seq":"1"}`,                                       // a type error
	`{"type":null,"seq":1}`,                                           // null
	`{"type":"pong","seq":1,"data":null}`,                             // null data
	`{"type":"pong","seq":1,"data":[]}`,                               // data not an object
	`{"type":"pong","seq":1,"data":{"result":null}}`,                  // null result
	`{"type":"pong","seq":1,"data":{"timings":{"db_ms":null}}}`,       // null timing
	`{"type":"pong","seq":1} x`,                                       // data after the object
	`{"type":"pong","seq":1,}`,                                        // a trailing comma
	`{"type":"pong","seq":01}`,                                        // a leading zero
	"{\"type\":\"p\xffng\",\"seq\":1}",                                // invalid UTF-8
	"{\"type\":\"p\tng\",\"seq\":1}",                                  // a control byte
	`{"type":"pong","seq":1,"data":{"x":"\q"}}`,                       // a bad escape in a skipped value
	`{"type":"pong","seq":1,"data":{"x":tru}}`,                        // a bad literal
	`{"type":"pong","seq":1,"data":{"x":-}}`,                          // a bad number
	`[1]`,
	``,
	`{"type":"pong","seq":1,"data":{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`, // deeper than the fast path goes
}

func TestFastDecodeTakesPlainFrames(t *testing.T) {
	for _, f := range fastFrames {
		if !fastAgrees(t, []byte(f)) {
			t.Errorf("fastDecode(%s) declined; want it taken", f)
		}
	}
	// One decoder for all, as an oracle has: what it made for one frame
	// and keeps (recent strings) changes nothing of the next.
	var one decoder
	for _, f := range append(fastFrames, fastFrames...) {
		one.w, one.d = wireFrame{Data: &one.d}, wireData{}
		var fresh decoder
		fresh.w, fresh.d = wireFrame{Data: &fresh.d}, wireData{}
		if !one.fastDecode([]byte(f)) || !fresh.fastDecode([]byte(f)) {
			t.Fatalf("fastDecode(%s) declined", f)
		}
		ow, fw := one.w, fresh.w
		ow.Data, fw.Data = nil, nil
		if !reflect.DeepEqual(ow, fw) || !reflect.DeepEqual(one.d, fresh.d) {
			t.Fatalf("fastDecode(%s) after other frames = %+v %+v; on a fresh decoder %+v %+v", f, ow, one.d, fw, fresh.d)
		}
	}
	for _, f := range slowFrames {
		if fastAgrees(t, []byte(f)) {
			t.Errorf("fastDecode(%q) took it; want it left to the general decoder", f)
		}
	}
}

// fastAgrees reports whether the fast path took b; when it did, the
// general decoder and encoding/json must read b without error and to the
// same structs.
func fastAgrees(t *testing.T, b []byte) bool {
	t.Helper()
	var fast decoder
	fast.w, fast.d = wireFrame{Data: &fast.d}, wireData{}
	if !fast.fastDecode(b) {
		return false
	}
	var general decoder
	general.w, general.d = wireFrame{Data: &general.d}, wireData{}
	if err := general.unmarshal(b); err != nil {
		t.Fatalf("fastDecode took %q, which the general decoder refuses: %v", b, err)
	}
	var std decoder
	std.w, std.d = wireFrame{Data: &std.d}, wireData{}
	if err := json.Unmarshal(b, &std.w); err != nil {
		t.Fatalf("fastDecode took %q, which encoding/json refuses: %v", b, err)
	}
	for _, other := range []struct {
		name string
		dc   *decoder
	}{{"the general decoder", &general}, {"encoding/json", &std}} {
		fw, ow := fast.w, other.dc.w
		fw.Data, ow.Data = nil, nil
		if !reflect.DeepEqual(fw, ow) || !reflect.DeepEqual(fast.d, other.dc.d) {
			t.Fatalf("fastDecode(%q) = %+v %+v; %s reads %+v %+v", b, fw, fast.d, other.name, ow, other.dc.d)
		}
	}
	return true
}

// FuzzFastDecode: whatever the fast path takes, the general decoder and
// encoding/json read alike.
func FuzzFastDecode(f *testing.F) {
	for _, s := range append(fastFrames, slowFrames...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fastAgrees(t, b) })
}

var plainLogins = []string{
	`{"access_token":"eyJ.a.b","token_type":"bearer","expires_in":900,"user":{"id":"u1","email":"a@example.test"}}`,
	`{"user":{"email":"a@example.test","id":"u1","created_at":"2026-12-07T09:00:00Z"},"refresh_token":"r","access_token":"t"}`,
	`{}`,
}

var otherLogins = []string{
	`{"Access_Token":"t","user":{"id":"u1"}}`,    // another case
	`{"access_token":"t","user":{"ID":"u1"}}`,    // the same in user
	`{"access_token":"t","access_token":"u"}`,    // twice
	`{"access_token":"t","expires_in":"900"}`,    // a type error
	`{"access_token":"t","expires_in":900.5}`,    // not an integer
	`{"access_token":null}`,                      // null
	`{"access_token":"t","user":null}`,           // null user
	`{"access_token":"t\u0041","user":{"id":1}}`, // an escape
	`{"access_token":"t"} {}`,                    // data after it
}

func TestFastLoginReply(t *testing.T) {
	for _, in := range plainLogins {
		if !fastLoginAgrees(t, []byte(in)) {
			t.Errorf("fastLoginReply(%s) declined; want it taken", in)
		}
	}
	for _, in := range otherLogins {
		if fastLoginAgrees(t, []byte(in)) {
			t.Errorf("fastLoginReply(%s) took it; want it left to the general decoder", in)
		}
	}
}

// fastLoginAgrees reports whether fastLoginReply took b; when it did,
// the general decoder and encoding/json must read b without error and
// alike.
func fastLoginAgrees(t *testing.T, b []byte) bool {
	t.Helper()
	var fast, general, std protocol.LoginReply
	if !fastLoginReply(b, &fast) {
		return false
	}
	if err := jsonv1.Unmarshal(b, &general); err != nil {
		t.Fatalf("fastLoginReply took %q, which the general decoder refuses: %v", b, err)
	}
	if err := json.Unmarshal(b, &std); err != nil {
		t.Fatalf("fastLoginReply took %q, which encoding/json refuses: %v", b, err)
	}
	if fast != general || fast != std {
		t.Fatalf("fastLoginReply(%q) = %+v; the general decoder reads %+v, encoding/json %+v", b, fast, general, std)
	}
	return true
}

// FuzzFastLoginReply: whatever the fast path takes, the general decoder
// and encoding/json read alike.
func FuzzFastLoginReply(f *testing.F) {
	for _, s := range append(plainLogins, otherLogins...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fastLoginAgrees(t, b) })
}

// referenceFrames are a journey's six frames as the reference backend
// sends them (ids of 26 characters, an answer with escapes).
var referenceFrames = []string{
	`{"type":"connection_established","seq":1,"timestamp":"2026-12-07T20:05:46.769973555Z","data":{"connection_id":"c_a1e8fd36205e7254e8d92bcf","user_id":"u_78753ccff4ae06a8825641a3","server_time":"2026-12-07T20:05:46.76995722Z"}}`,
	`{"type":"agent_started","seq":2,"timestamp":"2026-12-07T20:05:46.770528132Z","data":{"run_id":"r_f7c79953b71c90fb4148c7b6","thread_id":"t_ce0629b293db94c11a392fd8","message_id":"m1-5CWYICTD2HOBWWRKK7F6HAYPSI","user_id":"u_78753ccff4ae06a8825641a3","agent_name":"golden-agent","agent_instance_id":"a_9ac3ab6a0e1207e28b42012e","timings":{"factory_ms":0.00147,"config_ms":0.000566}}}`,
	`{"type":"agent_thinking","seq":3,"timestamp":"2026-12-07T20:05:46.770591195Z","data":{"run_id":"r_f7c79953b71c90fb4148c7b6","thread_id":"t_ce0629b293db94c11a392fd8","message_id":"m1-5CWYICTD2HOBWWRKK7F6HAYPSI","user_id":"u_78753ccff4ae06a8825641a3","reasoning":"step 1/1: working on \"golden path question 1: 5CWYICTD2HOBWWRKK7F6HAYPSI\""}}`,
	`{"type":"tool_executing","seq":4,"timestamp":"2026-12-07T20:05:46.770599512Z","data":{"run_id":"r_f7c79953b71c90fb4148c7b6","thread_id":"t_ce0629b293db94c11a392fd8","message_id":"m1-5CWYICTD2HOBWWRKK7F6HAYPSI","user_id":"u_78753ccff4ae06a8825641a3","tool_name":"search_docs","tool_call_id":"call_1_r_f7c79953b71c90fb4148c7b6"}}`,
	`{"type":"tool_completed","seq":5,"timestamp":"2026-12-07T20:05:46.770605Z","data":{"run_id":"r_f7c79953b71c90fb4148c7b6","thread_id":"t_ce0629b293db94c11a392fd8","message_id":"m1-5CWYICTD2HOBWWRKK7F6HAYPSI","user_id":"u_78753ccff4ae06a8825641a3","tool_name":"search_docs","tool_call_id":"call_1_r_f7c79953b71c90fb4148c7b6","result":{"query":"golden path question 1: 5CWYICTD2HOBWWRKK7F6HAYPSI","matches":1}}}`,
	`{"type":"agent_completed","seq":6,"timestamp":"2026-12-07T20:05:46.770613732Z","data":{"run_id":"r_f7c79953b71c90fb4148c7b6","thread_id":"t_ce0629b293db94c11a392fd8","message_id":"m1-5CWYICTD2HOBWWRKK7F6HAYPSI","user_id":"u_78753ccff4ae06a8825641a3","result":{"content":"Simulated answer (thinking steps: 1, tool calls: 1).\n\nYou asked: \"golden path question 1: 5CWYICTD2HOBWWRKK7F6HAYPSI\""},"completed_at":"2026-12-07T20:05:46.7705524Z","timings":{"execution_ms":0.145881,"db_ms":0.379338}}}`,
}

// BenchmarkFastDecode reads a journey's frames from the reference backend
// by the fast path.
func BenchmarkFastDecode(b *testing.B) {
	frames := make([][]byte, len(referenceFrames))
	for i, f := range referenceFrames {
		frames[i] = []byte(f)
	}
	var dc decoder
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frames {
			dc.w, dc.d = wireFrame{}, wireData{}
			if !dc.fastDecode(f) {
				b.Fatalf("the fast path left %s to the general decoder", f)
			}
		}
	}
}
