package journey

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Kinds of [Error]: what ended a journey.
const (
	FailHTTPStatus = "http_status" // an HTTP reply (or a refused upgrade) with an unexpected status
	FailConnect    = "connect"     // the target could not be reached, or the connection broke
	FailClose      = "close"       // the WebSocket was closed before the journey ended; see Error.CloseCode
	FailTimeout    = "timeout"     // no reply or terminal event in time
	FailProtocol   = "protocol"    // the target spoke the protocol in a way that makes the journey impossible
	FailCancelled  = "cancelled"   // the caller's context ended; not the target's fault
	FailThrottled  = "throttled"   // HTTP 429 after every wait its Retry-After asked for: back-pressure, counted apart
	FailOptions    = "options"     // the caller passed invalid options or a Target not built by NewTarget
	FailInternal   = "internal"    // a bug in goldenpath, not the target's fault
)

// Kinds of [Violation]: what the oracle and the journey's checks find.
const (
	ViolationSeqGap         = "seq_gap"          // a seq never arrived: a lost frame
	ViolationSeqDuplicate   = "seq_duplicate"    // a seq arrived twice
	ViolationSeqReorder     = "seq_reorder"      // a seq arrived after a higher one
	ViolationBadEnvelope    = "bad_envelope"     // a frame is not {type,seq,timestamp,data} with the fields its type needs
	ViolationGrammar        = "grammar"          // a run's events break the event grammar
	ViolationForeignUser    = "foreign_user"     // an event carries another user's user_id
	ViolationForeignMessage = "foreign_message"  // an event answers a message_id this socket never sent, or another run's
	ViolationAnswerMismatch = "answer_mismatch"  // result.content does not quote the request
	ViolationForeignData    = "foreign_data"     // a frame carries another user's data (see ForeignFunc)
	ViolationMissingTerm    = "missing_terminal" // a request never got agent_completed or agent_error
	ViolationConfigMismatch = "config_mismatch"  // GET /api/v1/config: checksum does not match values
	ViolationStoreMismatch  = "store_mismatch"   // the thread store lacks a question, an answer or a thread
	ViolationStream         = "stream"           // a streamed chat completion broke its grammar: no [DONE] or finish_reason, usage that disagrees, ...
)

// MaxSample is the longest [Error.Sample] or [Violation.Sample], in bytes.
const MaxSample = 300

// Error is the failure that ended a journey. It is always one of the Fail*
// kinds, with the phase it happened in.
type Error struct {
	Kind      string // one of the Fail* constants
	Phase     string // one of the Phase* constants; "" for FailOptions and FailInternal
	Status    int    // HTTP status, for FailHTTPStatus
	CloseCode int    // WebSocket close code, for FailClose (1006: closed without a close frame)
	Message   string // what happened, lower case
	Sample    string // the offending body, frame or close reason, truncated and redacted
}

// Error implements error: "journey: login: http_status 401: ...".
func (e *Error) Error() string {
	s := "journey: "
	if e.Phase != "" {
		s += e.Phase + ": "
	}
	s += e.Kind
	switch {
	case e.Status != 0:
		s += " " + strconv.Itoa(e.Status)
	case e.CloseCode != 0:
		s += " " + strconv.Itoa(e.CloseCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Violation is one breach of the protocol that did not end the journey.
type Violation struct {
	Kind   string // one of the Violation* constants
	RunID  string // the run it concerns, when known
	Detail string // what was wrong, in a sentence
	Sample string // the offending frame, truncated and redacted
}

// String renders v on one line.
func (v Violation) String() string {
	s := v.Kind
	if v.RunID != "" {
		s += " (run " + v.RunID + ")"
	}
	return s + ": " + v.Detail
}

// Token-looking strings: JWTs (three base64url parts, dot-separated),
// Authorization values, and JSON fields that carry secrets.
var (
	jwtPattern    = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)
	bearerPattern = regexp.MustCompile(`\b(Bearer|bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	secretField   = regexp.MustCompile(`(?i)("(?:access_token|refresh_token|token|password|secret|api_key)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// Redacted replaces every secret [Redact] finds.
const Redacted = "[REDACTED]"

// Redact returns s with token-looking strings replaced by [Redacted]:
// JWTs (three base64url parts joined by dots), "Bearer ..." and "Basic ..."
// credentials, and the values of JSON fields named access_token,
// refresh_token, token, password, secret or api_key.
func Redact(s string) string {
	s = secretField.ReplaceAllString(s, `${1}"`+Redacted+`"`)
	s = bearerPattern.ReplaceAllString(s, "${1} "+Redacted)
	return jwtPattern.ReplaceAllString(s, Redacted)
}

// sample redacts b, then truncates it to MaxSample bytes on a rune boundary.
func sample(b []byte) string {
	s := Redact(string(b))
	if len(s) <= MaxSample {
		return s
	}
	cut := MaxSample
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// CloseClass classifies a WebSocket close code as RFC 6455 and the
// platforms goldenpath loads do: normal (1000, 1001), client error (1002,
// 1003, 1007-1010), server error (1011-1014), infrastructure (1006, 1015:
// no close frame, TLS), or application (4000-4999).
func CloseClass(code int) string {
	switch {
	case code == 1000 || code == 1001:
		return "normal"
	case code == 1002 || code == 1003 || (code >= 1007 && code <= 1010):
		return "client error"
	case code >= 1011 && code <= 1014:
		return "server error"
	case code == 1006 || code == 1015:
		return "infrastructure"
	case code >= 4000 && code <= 4999:
		return "application"
	}
	return "unclassified"
}

// classify turns a transport error into an Error of the right kind. ctx is
// the journey's context: when it has ended, the failure is the caller's.
func classify(ctx context.Context, phase string, err error) *Error {
	e := &Error{Phase: phase, Message: err.Error()}
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		e.Kind, e.Message = FailCancelled, "cancelled: "+context.Cause(ctx).Error()
	case errors.As(err, &ce):
		e.Kind, e.CloseCode, e.Message = FailClose, ce.Code, "connection closed with "+strconv.Itoa(ce.Code)+" ("+CloseClass(ce.Code)+")"
		e.Sample = sample([]byte(ce.Text))
	case errors.Is(err, websocket.ErrReadLimit):
		e.Kind, e.Message = FailProtocol, "a frame is larger than "+strconv.Itoa(maxFrame)+" bytes"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Kind = FailTimeout
	default:
		e.Kind = FailConnect
	}
	return e
}
