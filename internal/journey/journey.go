package journey

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// Phase names: the durations of a [Result] and the phase of an [Error].
const (
	PhaseRegister         = "register"          // Register's request (errors only)
	PhaseLogin            = "login"             // POST /api/v1/auth/login
	PhaseWSConnect        = "ws_connect"        // dial start to HTTP 101
	PhaseWSReady          = "ws_ready"          // HTTP 101 to connection_established
	PhaseFirstEvent       = "first_event"       // user_message sent to agent_started: the server took the request
	PhaseFirstToken       = "first_token"       // user_message sent to the first agent_thinking: time to first token
	PhaseAgentExecution   = "agent_execution"   // agent_started to agent_completed, local clock
	PhaseAnswer           = "answer"            // user_message sent to agent_completed: the whole request -> answer time
	PhaseInterEvent       = "inter_event"       // gap between consecutive events of a run
	PhaseInterToken       = "inter_token"       // gap between consecutive tokens of a streamed chat completion (ITL)
	PhaseTPOT             = "tpot"              // a chat completion's time per output token after the first: (last - first) / (tokens - 1)
	PhaseResponseDelivery = "response_delivery" // server's completed_at to receipt, offset-corrected
	PhaseJourney          = "journey"           // login start to the last answer received
	PhaseConfigAccess     = "config_access"     // GET /api/v1/config
	PhaseDBOperation      = "db_operation"      // each thread create, list and read-back
)

// PhaseNames lists the phases a [Result] may hold samples of, in journey
// order.
var PhaseNames = []string{
	PhaseLogin, PhaseConfigAccess, PhaseWSConnect, PhaseWSReady, PhaseFirstEvent, PhaseFirstToken,
	PhaseInterEvent, PhaseInterToken, PhaseTPOT, PhaseAgentExecution, PhaseAnswer, PhaseResponseDelivery, PhaseJourney, PhaseDBOperation,
}

// Names of server-reported timings in [Result.Server]: the event timings
// of agent_started and agent_completed, and TimingHTTPPrefix before each
// Server-Timing entry name of an HTTP reply (e.g. "http_auth", "http_db").
const (
	TimingFactory    = "factory_ms"
	TimingConfig     = "config_ms"
	TimingExecution  = "execution_ms"
	TimingDB         = "db_ms"
	TimingHTTPPrefix = "http_"
)

// Defaults of [Options].
const (
	DefaultMessages   = 1
	DefaultRunTimeout = 60 * time.Second
)

// Bounds the journey keeps without asking.
const (
	maxFrame      = 1 << 20                // longest server frame read; a longer one is a protocol failure
	maxViolations = 64                     // kept per Result; the rest are counted
	writeTimeout  = 10 * time.Second       // one client frame
	closeWait     = time.Second            // for the server's close frame after ours
	gapGrace      = 200 * time.Millisecond // extra reading after the last answer while a seq is missing
)

// Options shape one journey. The zero value is one message, sent the
// instant connection_established arrives, with the token in the
// Authorization header and no HTTP extras.
type Options struct {
	// Messages is the number of user_messages, sent one after another in
	// one thread, each after the previous answer (0: DefaultMessages).
	Messages int
	// Pipeline, with Messages > 1, sends the second and later requests
	// the moment the first run's agent_started names the thread, before
	// any answer, as a user who types on while the agent works: several
	// runs are in flight on the socket at once and their events
	// interleave. Without it each request waits for the previous answer.
	Pipeline bool
	// RunTimeout bounds each wait for a server frame that moves the journey
	// on: connection_established, and each run's terminal event counted
	// from its request (0: DefaultRunTimeout).
	RunTimeout time.Duration
	// SettleDelay is a pause between connection_established and the first
	// request; 0 sends it at once, which exposes handshake races.
	SettleDelay time.Duration
	// Ready, when set, is called after connection_established and the
	// SettleDelay, before the first request, and the journey waits for it
	// to return: a scenario holds many users there to send their requests
	// at one instant. It must return when ctx ends.
	Ready func(ctx context.Context)
	// ConfigAccess reads GET /api/v1/config once after login, timed as
	// PhaseConfigAccess, and verifies its checksum.
	ConfigAccess bool
	// DBOps, after the socket closes, creates a thread, lists the threads
	// and reads back the run's thread, each timed as PhaseDBOperation, and
	// verifies that the store holds every question and its answer.
	DBOps bool
	// Subprotocol sends the token as the subprotocol pair
	// "jwt-auth, jwt.<token>" instead of an Authorization header.
	Subprotocol bool
	// LocalPort records the WebSocket's local TCP port in
	// [Result.LocalPort] (one getsockname(2) a journey), so that a
	// packet capture's connections can be matched to journeys. The
	// epoll loops' path only.
	LocalPort bool
	// Nonce returns a string unique to each request; it goes into the
	// message_id and the content, and the answer must quote it
	// (nil: 26 random base32 characters from crypto/rand).
	Nonce func() string
	// Foreign, when set, scans every frame for other users' data; see
	// [ForeignFunc].
	Foreign ForeignFunc
	// Trace, when set, is told every step and frame of a journey driven
	// by a profile (see [WithProfile]); the built-in PROTOCOL v1 journey
	// does not call it.
	Trace Trace
}

// Validate reports the first invalid field, naming the accepted values.
func (o Options) Validate() error {
	switch {
	case o.Messages < 0:
		return fmt.Errorf("journey: Messages is %d; want 0 (meaning %d) or more", o.Messages, DefaultMessages)
	case o.RunTimeout < 0:
		return fmt.Errorf("journey: RunTimeout is %s; want 0 (meaning %s) or a positive duration", o.RunTimeout, DefaultRunTimeout)
	case o.SettleDelay < 0:
		return fmt.Errorf("journey: SettleDelay is %s; want 0 or a positive duration", o.SettleDelay)
	}
	return nil
}

// nonce is 128 random bits as crypto/rand.Text writes them (26 base32
// letters), from math/rand/v2's generator: a request's id must be unique,
// not secret (BenchmarkNonce: half the cost of crypto/rand.Text here).
func nonce() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return nonceEncoding.EncodeToString(b[:])
}

var nonceEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func (o Options) withDefaults() Options {
	if o.Messages == 0 {
		o.Messages = DefaultMessages
	}
	if o.RunTimeout == 0 {
		o.RunTimeout = DefaultRunTimeout
	}
	if o.Nonce == nil {
		o.Nonce = nonce
	}
	return o
}

// ChatTiming is one chat request's time to first token, time per output
// token after the first (0 with fewer than two tokens) and end-to-end
// time; Complete is false for a stream that broke a promise.
type ChatTiming struct {
	TTFT, TPOT, E2E time.Duration
	Complete        bool
}

// Sample is one measured duration of a phase.
type Sample struct {
	Name string // a Phase* constant
	D    time.Duration
}

// ServerTiming is one duration the server reported about its own work.
type ServerTiming struct {
	Name string  // a Timing* constant, or TimingHTTPPrefix + a Server-Timing name
	MS   float64 // milliseconds
}

// Result is everything one journey measured and found.
type Result struct {
	UserID     string
	Start, End time.Time // Run's start and end, with monotonic readings
	Phases     []Sample  // in the order measured; PhaseInterEvent has several per run
	Server     []ServerTiming
	Frames     int // server frames received
	// Received and Sent count the WebSocket frames received and sent by
	// type, indexed as [FrameTypes] (close and ping control frames aside).
	Received, Sent FrameCounts
	// HTTPStatuses are the statuses of the HTTP replies the journey got,
	// in order: its API calls', and its WebSocket upgrade's (101 when it
	// succeeded). A request that got no reply has none.
	HTTPStatuses []int
	Runs         int // runs that ended with agent_completed
	// Tokens are the output tokens streamed (chat completions);
	// Throttled the requests refused with 429 and retried after their
	// Retry-After, ThrottledWait the time spent waiting so.
	Tokens        int
	Throttled     int
	ThrottledWait time.Duration
	// Chat are the timing points of each streamed chat completion, for
	// goodput: the share of requests that met every SLO.
	Chat []ChatTiming
	// Instances are the agent_instance_id of each run, in order.
	Instances []string
	// ClockOffset is the server clock's estimated lead over the local one
	// (see [ClockOffset]); 0 when connection_established had no server_time.
	ClockOffset time.Duration
	// Clamped counts PhaseResponseDelivery samples whose estimate came out
	// negative and was recorded as 0: the offset's error exceeded the delay.
	Clamped int
	// ReadLag is the longest the journey's replies and frames waited in
	// the kernel before goldenpath read them: its own delay, kept out of
	// every phase, which runs to when their last byte arrived. It is
	// measured where goldenpath reads the socket itself (Linux, plain
	// TCP: the epoll loops); 0 elsewhere.
	ReadLag time.Duration
	// ReadyUnseen is true when the HTTP 101 and connection_established
	// could not be told apart in time: they came with one arrival time
	// (in one segment, or merged by the kernel while the 101 was still
	// unread: it keeps the later one's), or the 101 was timed by another clock than the
	// frame (the usual path) and came out later. The journey then has no
	// PhaseWSReady sample, rather than a 0 nobody measured, and its
	// PhaseWSConnect runs to that one time: at most the gap long.
	ReadyUnseen bool
	// LocalPort is the WebSocket's local TCP port when Options.LocalPort
	// asked for it and the epoll loops' path ran the journey; 0 otherwise.
	LocalPort int
	// Err is the failure that ended the journey, nil when it completed.
	Err *Error
	// Violations are the protocol breaches found, at most 64; the rest are
	// counted in ViolationsDropped.
	Violations        []Violation
	ViolationsDropped int
}

// OK reports whether the journey completed without a failure or a
// violation.
func (r *Result) OK() bool {
	return r.Err == nil && len(r.Violations) == 0 && r.ViolationsDropped == 0
}

// Run walks one virtual user along the golden path on t and returns what it
// measured; see the package documentation for the phases. acct must exist
// on the target (see [Register]). Run never panics and never returns nil;
// when ctx ends it aborts at once with an [Error] of kind [FailCancelled].
// It returns only after everything it started has ended.
func Run(ctx context.Context, t *Target, acct Account, opts Options) *Result {
	if t != nil && t.spec == nil {
		ch := make(chan *Result, 1)
		u := newAUser(ctx, t, func(r *Result) { ch <- r })
		u.begin(acct, opts) // on this goroutine; the socket's frames on the reader's
		return <-ch
	}
	return runProfile(ctx, t, acct, opts)
}

// runProfile is Run for a journey of a profile (or a nil target): one
// goroutine walks it all.
func runProfile(ctx context.Context, t *Target, acct Account, opts Options) (res *Result) {
	res = &Result{Start: time.Now()}
	u := &user{ctx: countingReplies(ctx, res), t: t, res: res}
	defer func() {
		if p := recover(); p != nil {
			res.Err = &Error{Kind: FailInternal, Message: fmt.Sprintf("panic (a goldenpath bug, not the target's): %v", p)}
		}
		u.abort()
		res.End = time.Now()
	}()
	if err := u.prepare(&opts); err != nil {
		res.Err = err
		return res
	}
	if err := u.walkProfile(acct); err != nil {
		res.Err = err
	}
	return res
}

// walkProfile is the journey of the target's profile; apart from Run, so
// that a built-in journey's stack holds none of it.
//
//go:noinline
func (u *user) walkProfile(acct Account) *Error {
	if spec := u.t.spec; spec.Profile.Stream.Kind == profile.StreamSSE {
		return (&chatUser{user: u, spec: spec}).walk()
	}
	return (&puser{user: u, spec: u.t.spec, p: u.t.spec.Profile}).walk(acct)
}

// prepare checks the target and opts and sets u.opts. It is never inlined:
// its copies of Options would stay in Run's stack frame, which is under
// every parked user's.
//
//go:noinline
func (u *user) prepare(opts *Options) *Error {
	if t := u.t; t == nil || t.HTTP == nil || t.Dialer == nil || t.wsURL == "" {
		return &Error{Kind: FailOptions, Message: "target not built by NewTarget"}
	}
	if err := opts.Validate(); err != nil {
		return &Error{Kind: FailOptions, Message: err.Error()}
	}
	u.opts = opts.withDefaults()
	u.res.Phases = make([]Sample, 0, 4+u.opts.Messages*8)
	return nil
}
