// Package protocol is the golden-path wire contract, version 1, that the
// reference backend serves and the load side speaks: message and event
// kinds, the frame envelope, close codes, error codes, and the canonical JSON
// used for configuration checksums.
//
// It depends on the standard library only, so both wings of goldenpath can
// import it without importing each other. The contract itself is described in
// docs/protocol.md.
//
// # Frames
//
// Every server frame is an [Envelope]: {"type","seq","timestamp","data"}. The
// seq starts at 1 on each connection and grows by exactly one per frame.
// Clients send a [ClientMessage]: {"type","payload"}.
package protocol

import (
	"encoding/json"
	"time"
)

// Version is the protocol version this package describes.
const Version = 1

// Server event types.
const (
	EventConnectionEstablished = "connection_established"
	EventAgentStarted          = "agent_started"
	EventAgentThinking         = "agent_thinking"
	EventToolExecuting         = "tool_executing"
	EventToolCompleted         = "tool_completed"
	EventAgentCompleted        = "agent_completed"
	EventAgentError            = "agent_error"
	EventPong                  = "pong"
	EventHeartbeat             = "heartbeat"
	EventErrorMessage          = "error_message"
)

// EventTypes lists every server event type, in protocol order.
var EventTypes = []string{
	EventConnectionEstablished, EventAgentStarted, EventAgentThinking,
	EventToolExecuting, EventToolCompleted, EventAgentCompleted,
	EventAgentError, EventPong, EventHeartbeat, EventErrorMessage,
}

// IsRunEvent reports whether an event type belongs to a run (and so carries
// run_id, thread_id, message_id and user_id).
func IsRunEvent(t string) bool {
	switch t {
	case EventAgentStarted, EventAgentThinking, EventToolExecuting,
		EventToolCompleted, EventAgentCompleted, EventAgentError:
		return true
	}
	return false
}

// IsTerminal reports whether an event type ends a run.
func IsTerminal(t string) bool {
	return t == EventAgentCompleted || t == EventAgentError
}

// Client message types.
const (
	MessageUser = "user_message"
	MessagePing = "ping"
)

// Error codes carried by error_message events.
const (
	ErrInvalidJSON = "invalid_json"
	ErrUnknownType = "unknown_type"
	ErrBadRequest  = "bad_request"
	ErrRateLimited = "rate_limited"
)

// WebSocket close codes used by the protocol (RFC 6455 section 7.4).
const (
	CloseNormal         = 1000
	CloseGoingAway      = 1001
	CloseInvalidPayload = 1007 // a text frame that is not UTF-8 (RFC 6455 section 8.1)
	ClosePolicy         = 1008
	CloseTooBig         = 1009
	CloseInternal       = 1011
	CloseTryAgainLate   = 1013
)

// MaxContentBytes is the largest user_message content the protocol allows;
// a larger frame is closed with [CloseTooBig].
const MaxContentBytes = 32 << 10

// Subprotocol values: a client that cannot set headers offers
// "jwt-auth" and "jwt.<token>"; the server selects [SubprotocolAuth].
const (
	SubprotocolAuth        = "jwt-auth"
	SubprotocolTokenPrefix = "jwt."
)

// Paths of the HTTP and WebSocket endpoints.
const (
	PathRegister    = "/api/v1/auth/register"
	PathLogin       = "/api/v1/auth/login"
	PathConfig      = "/api/v1/config"
	PathAdminConfig = "/api/v1/admin/config"
	PathThreads     = "/api/v1/threads"
	PathWS          = "/ws"
	PathHealthz     = "/healthz"
	PathReadyz      = "/readyz"
	PathMetrics     = "/metrics"
)

// Metric names the protocol requires on /metrics.
const (
	MetricActiveConnections = "goldenpath_active_connections"
	MetricActiveRuns        = "goldenpath_active_runs"
	MetricRunsTotal         = "goldenpath_runs_total"
	MetricEventsSentTotal   = "goldenpath_events_sent_total"
)

// Envelope is one server frame.
type Envelope struct {
	Type      string          `json:"type"`
	Seq       int64           `json:"seq"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ClientMessage is one client frame.
type ClientMessage struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// UserMessage is the payload of a user_message.
type UserMessage struct {
	MessageID string `json:"message_id"`
	Content   string `json:"content"`
	ThreadID  string `json:"thread_id,omitempty"`
}

// Ping is the payload of a ping; the pong echoes Nonce.
type Ping struct {
	Nonce string `json:"nonce"`
}

// ConnectionEstablished is the data of the first frame on a connection.
type ConnectionEstablished struct {
	ConnectionID string    `json:"connection_id"`
	UserID       string    `json:"user_id"`
	ServerTime   time.Time `json:"server_time"`
}

// RunRef is carried by every run event.
type RunRef struct {
	RunID     string `json:"run_id"`
	ThreadID  string `json:"thread_id"`
	MessageID string `json:"message_id"`
	UserID    string `json:"user_id"`
}

// StartTimings are the server's instantiation figures in agent_started.
type StartTimings struct {
	FactoryMS float64 `json:"factory_ms"`
	ConfigMS  float64 `json:"config_ms"`
}

// AgentStarted is the data of agent_started.
type AgentStarted struct {
	RunRef
	AgentName       string       `json:"agent_name"`
	AgentInstanceID string       `json:"agent_instance_id"`
	Timings         StartTimings `json:"timings"`
}

// AgentThinking is the data of agent_thinking.
type AgentThinking struct {
	RunRef
	Reasoning string `json:"reasoning"`
}

// ToolExecuting is the data of tool_executing.
type ToolExecuting struct {
	RunRef
	ToolName   string `json:"tool_name"`
	ToolCallID string `json:"tool_call_id"`
}

// ToolCompleted is the data of tool_completed.
type ToolCompleted struct {
	RunRef
	ToolName   string `json:"tool_name"`
	ToolCallID string `json:"tool_call_id"`
	Result     any    `json:"result"`
}

// Result is the answer of a completed run.
type Result struct {
	Content string `json:"content"`
}

// CompletedTimings are the server's execution figures in agent_completed.
type CompletedTimings struct {
	ExecutionMS float64 `json:"execution_ms"`
	DBMS        float64 `json:"db_ms"`
}

// AgentCompleted is the data of agent_completed.
type AgentCompleted struct {
	RunRef
	Result      Result           `json:"result"`
	CompletedAt time.Time        `json:"completed_at"`
	Timings     CompletedTimings `json:"timings"`
}

// AgentError is the data of agent_error.
type AgentError struct {
	RunRef
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorMessage is the data of error_message.
type ErrorMessage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Heartbeat is the data of heartbeat.
type Heartbeat struct {
	ServerTime time.Time `json:"server_time"`
}

// HTTPError is the body of every HTTP error reply.
type HTTPError struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the inner object of [HTTPError].
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Credentials is the body of register and login.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// User is a user as the HTTP API shows it.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// RegisterReply is the body of a successful register.
type RegisterReply struct {
	User User `json:"user"`
}

// LoginReply is the body of a successful login.
type LoginReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	User        User   `json:"user"`
}

// ConfigSnapshot is the body of GET /api/v1/config.
type ConfigSnapshot struct {
	Version  int64           `json:"version"`
	Checksum string          `json:"checksum"`
	Values   json.RawMessage `json:"values"`
}

// ConfigUpdate is the body of PUT /api/v1/admin/config.
type ConfigUpdate struct {
	Values json.RawMessage `json:"values"`
}

// Thread is a conversation thread.
type Thread struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"created_at"`
}

// ThreadList is the body of GET /api/v1/threads.
type ThreadList struct {
	Threads []Thread `json:"threads"`
}

// NewThread is the body of POST /api/v1/threads.
type NewThread struct {
	Title string `json:"title"`
}

// Message is one stored message of a thread.
type Message struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	Content   string    `json:"content"`
	MessageID string    `json:"message_id"`
	CreatedAt time.Time `json:"created_at"`
}

// MessageList is the body of GET /api/v1/threads/{id}/messages.
type MessageList struct {
	Messages []Message `json:"messages"`
}

// Ready is the body of /readyz.
type Ready struct {
	Phase string `json:"phase"`
}
