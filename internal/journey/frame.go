package journey

import (
	"bytes"
	"strconv"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Frame is one decoded server frame: the envelope and the data fields the
// journey and the oracle use. Fields a frame's type does not carry are
// zero.
type Frame struct {
	Type      string
	Seq       int64
	Timestamp time.Time // zero when missing or not RFC 3339

	protocol.RunRef // run events: run_id, thread_id, message_id, user_id

	ConnectionID    string         // connection_established
	ServerTime      time.Time      // connection_established, heartbeat
	AgentInstanceID string         // agent_started
	ToolName        string         // tool_executing, tool_completed
	ToolCallID      string         // tool_executing, tool_completed
	Answer          string         // agent_completed: result.content
	CompletedAt     time.Time      // agent_completed
	Timings         []ServerTiming // agent_started, agent_completed: the timings present, named Timing*
	Code, Message   string         // agent_error, error_message
	Nonce           string         // pong
}

// wireFrame is the envelope as decoded; data is decoded in the same pass
// into a reused wireData.
type wireFrame struct {
	Type      string    `json:"type"`
	Seq       int64     `json:"seq"`
	Timestamp stamp     `json:"timestamp"`
	Data      *wireData `json:"data"`
}

type wireData struct {
	RunID           string  `json:"run_id"`
	ThreadID        string  `json:"thread_id"`
	MessageID       string  `json:"message_id"`
	UserID          string  `json:"user_id"`
	ConnectionID    string  `json:"connection_id"`
	ServerTime      stamp   `json:"server_time"`
	AgentInstanceID string  `json:"agent_instance_id"`
	ToolName        string  `json:"tool_name"`
	ToolCallID      string  `json:"tool_call_id"`
	Result          answer  `json:"result"`
	CompletedAt     stamp   `json:"completed_at"`
	Timings         timings `json:"timings"`
	Code            string  `json:"code"`
	Message         string  `json:"message"`
	Nonce           string  `json:"nonce"`
}

// stamp is an RFC 3339 time that records a bad value instead of failing
// the whole decode.
type stamp struct {
	t       time.Time
	present bool
	bad     bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (s *stamp) UnmarshalJSON(b []byte) error {
	s.present = true
	if s.t.UnmarshalJSON(b) != nil || bytes.Equal(b, []byte("null")) {
		s.bad = true
	}
	return nil
}

// answer keeps result.content of agent_completed; other results (a tool's,
// of any JSON type) are skipped.
type answer struct{ content string }

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (a *answer) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"content"`)) {
		return nil
	}
	var r protocol.Result
	if jsonv1.Unmarshal(b, &r) == nil {
		a.content = r.Content
	}
	return nil
}

// ms is a timing in milliseconds that remembers whether it was present.
type ms struct {
	v  float64
	ok bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (m *ms) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	m.v, m.ok = v, err == nil
	return nil
}

type timings struct {
	FactoryMS   ms `json:"factory_ms"`
	ConfigMS    ms `json:"config_ms"`
	ExecutionMS ms `json:"execution_ms"`
	DBMS        ms `json:"db_ms"`
}

// decoder decodes frames into reused wire structs.
type decoder struct {
	w      wireFrame
	d      wireData
	recent recentStrings // fastDecode's
}

// unmarshal decodes the one JSON value b holds into dc.w, with
// encoding/json's semantics (field names matched regardless of case,
// duplicate names, invalid UTF-8 replaced; a type error leaves the rest
// decoded) by the single-pass decoder of go-json-experiment/json, which
// spends about half of encoding/json's time on a frame
// (BenchmarkOracleObserve). Data after the object is an error.
func (dc *decoder) unmarshal(b []byte) error {
	return jsonv1.Unmarshal(b, &dc.w)
}

// decode parses b. It returns a problem with the envelope ("" when it is
// well formed) and whether the frame could be decoded at all.
func (dc *decoder) decode(b []byte) (f Frame, problem string, ok bool) {
	dc.w = wireFrame{Data: &dc.d}
	dc.d = wireData{}
	var err error
	if !dc.fastDecode(b) { // not in the plain form: read as encoding/json would
		dc.w = wireFrame{Data: &dc.d}
		dc.d = wireData{}
		err = dc.unmarshal(b)
	}
	if err != nil {
		if _, typeErr := err.(*jsonv1.UnmarshalTypeError); !typeErr {
			return f, "frame is not a JSON object: " + err.Error(), false
		}
		problem = "a field has the wrong JSON type: " + err.Error()
	}
	w, d := &dc.w, &dc.d
	switch { // not an envelope: the zero Frame, as Oracle.Observe promises
	case w.Type == "":
		return Frame{}, "frame has no type", false
	case w.Seq <= 0:
		return Frame{}, "frame has no positive integer seq", false
	case w.Data == nil:
		return Frame{}, "frame has no data object", false
	}
	f.Type, f.Seq = w.Type, w.Seq
	f.Timestamp = w.Timestamp.t
	if !w.Timestamp.present || w.Timestamp.bad {
		f.Timestamp = time.Time{}
		problem = "timestamp is missing or not RFC 3339"
	}
	f.RunRef = protocol.RunRef{RunID: d.RunID, ThreadID: d.ThreadID, MessageID: d.MessageID, UserID: d.UserID}
	f.ConnectionID, f.AgentInstanceID = d.ConnectionID, d.AgentInstanceID
	f.ToolName, f.ToolCallID, f.Answer = d.ToolName, d.ToolCallID, d.Result.content
	f.Code, f.Message, f.Nonce = d.Code, d.Message, d.Nonce
	if !d.ServerTime.bad {
		f.ServerTime = d.ServerTime.t
	}
	if !d.CompletedAt.bad {
		f.CompletedAt = d.CompletedAt.t
	}
	f.Timings = d.Timings.appendTo(nil)
	if problem == "" {
		problem = dataProblem(&f)
	}
	return f, problem, true
}

func (t *timings) appendTo(dst []ServerTiming) []ServerTiming {
	for _, m := range [...]struct {
		name string
		v    ms
	}{{TimingFactory, t.FactoryMS}, {TimingConfig, t.ConfigMS}, {TimingExecution, t.ExecutionMS}, {TimingDB, t.DBMS}} {
		if m.v.ok {
			dst = append(dst, ServerTiming{Name: m.name, MS: m.v.v})
		}
	}
	return dst
}

// dataProblem checks that a frame's data has the fields its type needs.
func dataProblem(f *Frame) string {
	if protocol.IsRunEvent(f.Type) && (f.RunID == "" || f.ThreadID == "" || f.MessageID == "" || f.UserID == "") {
		return f.Type + " lacks one of data.run_id, thread_id, message_id, user_id"
	}
	switch f.Type {
	case protocol.EventConnectionEstablished:
		if f.ConnectionID == "" || f.UserID == "" || f.ServerTime.IsZero() {
			return "connection_established lacks data.connection_id, user_id or an RFC 3339 server_time"
		}
	case protocol.EventAgentStarted:
		if f.AgentInstanceID == "" {
			return "agent_started lacks data.agent_instance_id"
		}
	case protocol.EventToolExecuting, protocol.EventToolCompleted:
		if f.ToolName == "" || f.ToolCallID == "" {
			return f.Type + " lacks data.tool_name or tool_call_id"
		}
	case protocol.EventAgentCompleted:
		if f.CompletedAt.IsZero() {
			return "agent_completed lacks an RFC 3339 data.completed_at"
		}
	case protocol.EventAgentError, protocol.EventErrorMessage:
		if f.Code == "" {
			return f.Type + " lacks data.code"
		}
	case protocol.EventAgentThinking, protocol.EventPong, protocol.EventHeartbeat:
	default:
		return "unknown event type " + f.Type
	}
	return ""
}
