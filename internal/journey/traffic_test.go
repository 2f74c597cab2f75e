package journey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// frames returns the counts of c by type, leaving out types never seen.
func frames(c journey.FrameCounts) map[string]int {
	out := map[string]int{}
	for i, n := range c {
		if n > 0 {
			out[journey.FrameTypes[i]] = n
		}
	}
	return out
}

// TestRunCountsTraffic checks that a journey counts every HTTP reply it
// got, by status, and every frame it received and sent, by type: on the
// reference backend, a full journey of two runs; on a target refusing the
// upgrade, the refusal.
func TestRunCountsTraffic(t *testing.T) {
	b := startBackend(t, "", nil)
	r := journey.Run(context.Background(), b.target, b.account(t), journey.Options{ConfigAccess: true, DBOps: true, Messages: 2})
	if !r.OK() {
		t.Fatalf("Run = err %v, violations %v; want OK", r.Err, r.Violations)
	}
	// login 200, config 200, upgrade 101, thread create 201, list 200, read back 200.
	got := slices.Clone(r.HTTPStatuses)
	slices.Sort(got)
	if want := []int{101, 200, 200, 200, 200, 201}; !slices.Equal(got, want) {
		t.Errorf("HTTPStatuses = %v (sorted); want %v", got, want)
	}
	recv := frames(r.Received)
	total := 0
	for _, n := range recv {
		total += n
	}
	if total != r.Frames {
		t.Errorf("Received counts %d frames (%v); want all %d of Frames", total, recv, r.Frames)
	}
	for typ, want := range map[string]int{protocol.EventConnectionEstablished: 1, protocol.EventAgentStarted: 2, protocol.EventAgentCompleted: 2} {
		if recv[typ] != want {
			t.Errorf("Received[%s] = %d; want %d (of %v)", typ, recv[typ], want, recv)
		}
	}
	if recv[journey.FrameOther] != 0 {
		t.Errorf("Received[other] = %d from the reference backend, which sends only protocol events", recv[journey.FrameOther])
	}
	if sent := frames(r.Sent); len(sent) != 1 || sent[protocol.MessageUser] != 2 {
		t.Errorf("Sent = %v; want 2 user_message", sent)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathLogin {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer refusing.Close()
	target, _ := journey.NewTarget(refusing.URL)
	r = journey.Run(context.Background(), target, journey.Account{Email: "a@b", Password: "password1"}, journey.Options{})
	if !slices.Equal(r.HTTPStatuses, []int{200, 503}) {
		t.Errorf("HTTPStatuses of a refused upgrade = %v; want [200 503]", r.HTTPStatuses)
	}
	if len(frames(r.Received))+len(frames(r.Sent)) != 0 {
		t.Errorf("a journey without a socket counted frames: received %v, sent %v", frames(r.Received), frames(r.Sent))
	}
}

// TestFrameTypes checks that every server event and client message of the
// protocol has a count of its own, and that the last type is other.
func TestFrameTypes(t *testing.T) {
	for _, typ := range append(slices.Clone(protocol.EventTypes), protocol.MessageUser, protocol.MessagePing) {
		if !slices.Contains(journey.FrameTypes[:], typ) {
			t.Errorf("FrameTypes lacks %s", typ)
		}
	}
	if journey.FrameTypes[journey.NumFrameTypes-1] != journey.FrameOther {
		t.Errorf("the last of FrameTypes is %q; want %q", journey.FrameTypes[journey.NumFrameTypes-1], journey.FrameOther)
	}
}

// TestProfileJourneyCountsTraffic checks the counts of journeys spoken
// through a profile: a WebSocket one (frames by type, another target's
// types as other) and a streaming HTTP one (replies only).
func TestProfileJourneyCountsTraffic(t *testing.T) {
	b := startBackend(t, "", map[string]string{"think_ms": "20"})
	tgt := profileTarget(t, b.url, "goldenpath", journey.ProfileSpec{})
	res := journey.Run(context.Background(), tgt, b.account(t), journey.Options{Messages: 2, RunTimeout: 10 * time.Second})
	if !res.OK() {
		t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
	}
	if recv := frames(res.Received); recv[protocol.EventAgentCompleted] != 2 || recv[protocol.EventConnectionEstablished] != 1 {
		t.Errorf("goldenpath profile: Received = %v; want 1 connection_established and 2 agent_completed", recv)
	}
	if sent := frames(res.Sent); sent[protocol.MessageUser] != 2 {
		t.Errorf("goldenpath profile: Sent = %v; want 2 user_message", sent)
	}
	if !slices.Contains(res.HTTPStatuses, http.StatusSwitchingProtocols) {
		t.Errorf("goldenpath profile: HTTPStatuses = %v; want the upgrade's 101 among them", res.HTTPStatuses)
	}

	tgt = profileTarget(t, b.url, "openai", journey.ProfileSpec{Model: "goldenpath-sim"})
	res = journey.Run(context.Background(), tgt, journey.Account{}, journey.Options{Messages: 2, RunTimeout: 10 * time.Second})
	if !res.OK() {
		t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
	}
	if !slices.Equal(res.HTTPStatuses, []int{200, 200}) || len(frames(res.Received))+len(frames(res.Sent)) != 0 {
		t.Errorf("openai profile: HTTPStatuses %v, frames received %v, sent %v; want two 200s and no frame",
			res.HTTPStatuses, frames(res.Received), frames(res.Sent))
	}

	n := startNetra(t, "")
	tgt = profileTarget(t, n.url, "netra", journey.ProfileSpec{BypassKey: testBypassKey})
	res = journey.Run(context.Background(), tgt, journey.Account{Email: "vu-traffic@example.test", Password: "pw-traffic-1"}, journey.Options{RunTimeout: 10 * time.Second})
	if !res.OK() {
		t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
	}
	recv := frames(res.Received)
	total := 0
	for _, c := range recv {
		total += c
	}
	if total != res.Frames || recv[journey.FrameOther] == 0 {
		t.Errorf("netra profile: Received = %v over %d frames; want every frame counted, netra's own types (handshake_complete, ...) as other", recv, res.Frames)
	}
}
