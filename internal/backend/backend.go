// Package backend holds the domain types of the reference golden-path backend
// and the interfaces its parts implement: users, threads, messages, the
// [Store] they live in, and the [Error] type every part returns so that the
// HTTP and WebSocket layers can map failures to status and close codes in
// one place.
//
// The parts live in sub-packages named for what they provide: auth, config,
// agent, hub, httpapi, sqlite, fault, and server, which assembles them.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes shared by every part of the backend.
const (
	ECONFLICT     = "conflict"       // e.g. an email that is taken
	EINVALID      = "invalid_input"  // malformed or out-of-range input
	ENOTFOUND     = "not_found"      // missing, or not the caller's
	EUNAUTHORIZED = "unauthorized"   // missing, expired or forged credentials
	EFORBIDDEN    = "forbidden"      // authenticated but not allowed
	ERATELIMITED  = "rate_limited"   // too many attempts
	EUNAVAILABLE  = "not_ready"      // starting or draining
	ETOOLARGE     = "too_large"      // a request body over its limit
	EINTERNAL     = "internal_error" // a bug or a broken dependency
)

// Error is a failure with a machine code and a human message.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, if any; never shown to clients
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an [*Error] with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first [*Error] in err's chain, or
// [EINTERNAL] when there is none; nil has no code.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first [*Error] in err's chain, or
// a generic text for internal errors, whose details are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// PublicMessage returns the message of err that a client may be shown: the
// [ErrorMessage], unless that names its origin the Go way ("sqlite: ...",
// "store: ...", "postgres: ..."), which marks an internal detail such as a
// store's; then a generic text for the error's code. The configuration's
// messages ("config: ..."), written for the operator who sent the values,
// are shown as they are.
func PublicMessage(err error) string {
	msg := ErrorMessage(err)
	origin, _, found := strings.Cut(msg, ": ")
	if !found || origin == "" || origin == "config" || strings.TrimLeft(origin, "abcdefghijklmnopqrstuvwxyz0123456789_.") != "" {
		return msg
	}
	switch ErrorCode(err) {
	case ECONFLICT:
		return "already exists"
	case EINVALID:
		return "invalid input"
	case ENOTFOUND:
		return "not found"
	case EUNAUTHORIZED:
		return "not authenticated"
	case EFORBIDDEN:
		return "not allowed"
	case ERATELIMITED:
		return "too many requests; try again later"
	case EUNAVAILABLE:
		return "not ready; try again later"
	case ETOOLARGE:
		return "request too large"
	}
	return "internal error"
}

// User is an account.
type User struct {
	ID           string
	Email        string // stored lower-cased
	PasswordHash []byte
	CreatedAt    time.Time
}

// Thread is a conversation owned by one user.
type Thread struct {
	ID        string
	UserID    string
	Title     string
	CreatedAt time.Time
}

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one stored message of a thread.
type Message struct {
	ID        string
	ThreadID  string
	UserID    string
	Role      string // RoleUser or RoleAssistant
	Content   string
	MessageID string // the client's message_id of the run it belongs to
	CreatedAt time.Time
}

// Store keeps users, threads and messages. Every implementation passes the
// conformance suite in package storetest.
//
// Methods return an [*Error] with [ECONFLICT] or [ENOTFOUND] for the
// outcomes callers act on; anything else is internal.
type Store interface {
	// CreateUser stores u; a taken email (compared case-insensitively) is
	// ECONFLICT.
	CreateUser(ctx context.Context, u User) error
	// UserByEmail returns the user with that email (case-insensitive), or
	// ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (User, error)
	// CreateThread stores t.
	CreateThread(ctx context.Context, t Thread) error
	// Threads lists a user's threads, oldest first.
	Threads(ctx context.Context, userID string) ([]Thread, error)
	// Thread returns the thread when it exists and belongs to userID, else
	// ENOTFOUND (another user's thread is indistinguishable from none).
	Thread(ctx context.Context, userID, threadID string) (Thread, error)
	// StartRun commits, in one transaction, the thread t when create is true
	// and the user message m. When create is false the thread must exist
	// and belong to m.UserID, else ENOTFOUND and nothing is written.
	StartRun(ctx context.Context, t Thread, create bool, m Message) error
	// AppendMessage commits one message to a thread of m.UserID, else
	// ENOTFOUND.
	AppendMessage(ctx context.Context, m Message) error
	// Messages lists a thread's messages oldest first, in commit order,
	// when the thread belongs to userID, else ENOTFOUND.
	Messages(ctx context.Context, userID, threadID string) ([]Message, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store; it is safe to call once.
	Close() error
}
