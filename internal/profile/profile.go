// Package profile reads target profiles: YAML files that say, for one
// kind of backend, how a virtual user gets a token, opens its stream,
// finishes the handshake, asks, reads the events of a run and knows when
// the run is over (docs/profiles.md). goldenpath's own protocol is the
// built-in profile "goldenpath".
//
// This package reads and validates profiles only: a profile that loads
// is well formed (known fields, the right types, templates that parse,
// an event map with a start and an end), not yet proven to fit a target.
package profile

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Profile is one target profile.
type Profile struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Auth        Auth    `yaml:"auth"`
	Stream      Stream  `yaml:"stream"`
	Handshake   []Step  `yaml:"handshake"`
	Request     Request `yaml:"request"`
	Events      Events  `yaml:"events"`
	Oracle      Oracle  `yaml:"oracle"`
	Config      *Call   `yaml:"config"`  // optional: the configuration read
	History     *Call   `yaml:"history"` // optional: a thread's messages read back
	Memory      string  `yaml:"memory"`  // metrics (the target's /metrics), proc (a child's PID) or none
}

// Auth says how an account gets a token.
type Auth struct {
	// BaseURL is where the auth calls go when it differs from the target
	// (--auth-url wins); empty: the target's URL.
	BaseURL  string `yaml:"base_url"`
	Register *Call  `yaml:"register"`
	Login    *Call  `yaml:"login"`
	Bypass   *Call  `yaml:"bypass"`  // a test-only login that creates the user (a bypass key in a header)
	Refresh  *Call  `yaml:"refresh"` // exchanges the refresh token for a new access token
	// Token, RefreshToken and UserID are JSON paths (dot-separated) into
	// the login reply.
	Token        string `yaml:"token"`
	RefreshToken string `yaml:"refresh_token"`
	UserID       string `yaml:"user_id"`
	// APIKey: no accounts; the --api-key is the token of every request.
	APIKey bool `yaml:"api_key"`
}

// Call is one HTTP call. Path, header values and body strings are
// templates over the account and the journey's fields.
type Call struct {
	Method string            `yaml:"method"` // default GET, or POST with a body
	Path   string            `yaml:"path"`
	Header map[string]string `yaml:"header"`
	Body   any               `yaml:"body"`
	Expect []int             `yaml:"expect"` // statuses that mean success; default 200
	// Messages is the JSON path of the list of messages in a history reply.
	Messages string `yaml:"messages"`
}

// Stream kinds.
const (
	StreamWebSocket = "websocket"
	StreamSSE       = "sse" // an HTTP POST answered by server-sent events
)

// Token placements on a WebSocket upgrade.
const (
	TokenHeader      = "header"      // Authorization: Bearer
	TokenSubprotocol = "subprotocol" // Sec-WebSocket-Protocol entries (Subprotocols)
	TokenQuery       = "query"       // ?Query=<token>
)

// Stream formats.
const (
	FormatEvents     = "events"      // frames with a type, read by [Events] (the default)
	FormatOpenAIChat = "openai_chat" // chat.completion.chunk events: role, content deltas, finish_reason, usage, [DONE]
)

// Stream is the channel a run's events arrive on.
type Stream struct {
	Kind         string   `yaml:"kind"`
	Format       string   `yaml:"format"`
	Path         string   `yaml:"path"`
	Token        string   `yaml:"token"`        // websocket: header, subprotocol or query
	Subprotocols []string `yaml:"subprotocols"` // templates, e.g. ["jwt-auth", "jwt.{{.TokenBase64URL}}"]
	Query        string   `yaml:"query"`        // the query parameter of TokenQuery
}

// Step is one handshake step: wait for frames (in any order), capturing
// fields from them, or send a frame built from what was captured.
type Step struct {
	Wait    []string          `yaml:"wait"`    // event types to wait for, in any order
	Capture map[string]string `yaml:"capture"` // name -> JSON path in the awaited frames
	Send    any               `yaml:"send"`    // a frame, its strings templates
	Timeout string            `yaml:"timeout"` // for a wait; default the run timeout
}

// Request is the frame (websocket) or body (sse) that asks for one run.
// Its strings are templates: {{.Content}} carries the request's nonce,
// {{.MessageID}}, {{.ThreadID}}, {{.RunID}} and what the handshake
// captured ({{.Captured.NAME}}).
type Request struct {
	Body any `yaml:"body"`
}

// Events says how to read an event.
type Events struct {
	// Type is the JSON path of the event type; Wrapped, when set, names a
	// frame type whose real type is at WrappedType (e.g. Netra's
	// {"type":"system_message","event":"agent_started"}).
	Type        string `yaml:"type"`
	Wrapped     string `yaml:"wrapped"`
	WrappedType string `yaml:"wrapped_type"`
	// Data are the envelope paths tried in order for the event's fields.
	Data []string `yaml:"data"`
	// Paths within the data (or the frame) of the ids; Seq is optional:
	// without it order is judged by the grammar alone.
	RunID     string `yaml:"run_id"`
	ThreadID  string `yaml:"thread_id"`
	UserID    string `yaml:"user_id"`
	MessageID string `yaml:"message_id"`
	Seq       string `yaml:"seq"`
	// Map sends the target's event types onto the golden-path grammar.
	Map EventMap `yaml:"map"`
	// End is the rule that ends a run: an event of End.Kind whose field
	// End.Path (if set) is one of End.Values.
	End End `yaml:"end"`
	// Answer are the paths of the answer text, tried in order.
	Answer []string `yaml:"answer"`
}

// EventMap lists, for each part of the golden-path grammar, the target's
// event types.
type EventMap struct {
	Started   []string `yaml:"started"`
	Thinking  []string `yaml:"thinking"`
	ToolStart []string `yaml:"tool_start"`
	ToolEnd   []string `yaml:"tool_end"`
	Completed []string `yaml:"completed"`
	Error     []string `yaml:"error"`
	Ignore    []string `yaml:"ignore"` // heartbeats, acks: neither part of a run nor unknown
}

// End is the rule that ends a run.
type End struct {
	Kind   string   `yaml:"kind"` // completed (default) or a map entry name
	Path   string   `yaml:"path"`
	Values []string `yaml:"values"`
}

// Oracle switches the oracles a profile's target can be judged by.
type Oracle struct {
	// QuotesNonce: the answer quotes the request's nonce (our backend, and
	// Netra's); off for a real model, where ownership rests on ids.
	QuotesNonce bool `yaml:"quotes_nonce"`
	// FirstTokenIsNonce: the first content of the answer is the prompt's
	// first word, the nonce (an OpenAI-compatible test deployment).
	FirstTokenIsNonce bool `yaml:"first_token_is_nonce"`
}

//go:embed builtin/*.yaml
var builtins embed.FS

// Builtins lists the built-in profile names.
func Builtins() []string {
	ents, _ := builtins.ReadDir("builtin")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Load returns the built-in profile called nameOrFile, or reads the file
// of that name. Errors name the file, and the line and field where the
// YAML is wrong.
func Load(nameOrFile string) (*Profile, error) {
	if slices.Contains(Builtins(), nameOrFile) {
		b, err := builtins.ReadFile("builtin/" + nameOrFile + ".yaml")
		if err != nil {
			return nil, err
		}
		return Parse("built-in profile "+nameOrFile, b)
	}
	b, err := os.ReadFile(nameOrFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("profile %q: no such built-in profile (%s) or file", nameOrFile, strings.Join(Builtins(), ", "))
		}
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(nameOrFile, b)
}

// Parse reads a profile from b; source names it in errors. Unknown fields
// and type errors are errors with their line; then [Profile.Validate].
func Parse(source string, b []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; a profile needs at least name, stream, request and events", source)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %s", source, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document; a profile file holds one", source)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &p, nil
}

// Validate reports every field that is missing or inconsistent, naming it
// by its path in the file.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(field, f string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+f, append([]any{field}, a...)...))
	}
	if p.Name == "" {
		bad("name", "missing")
	}
	captured := map[string]string{}
	for _, st := range p.Handshake {
		for name := range st.Capture {
			captured[name] = ""
		}
	}
	checkTemplates := func(vs ...any) error { return checkTemplatesWith(Fields{Captured: captured}, vs...) }
	switch p.Stream.Kind {
	case StreamWebSocket:
		switch p.Stream.Token {
		case TokenHeader:
		case TokenSubprotocol:
			if len(p.Stream.Subprotocols) == 0 {
				bad("stream.subprotocols", "token: subprotocol needs the entries to offer, e.g. [jwt-auth, \"jwt.{{.TokenBase64URL}}\"]")
			}
		case TokenQuery:
			if p.Stream.Query == "" {
				bad("stream.query", "token: query needs the query parameter's name")
			}
		default:
			bad("stream.token", "%q; want header, subprotocol or query", p.Stream.Token)
		}
	case StreamSSE:
		if p.Stream.Format != FormatOpenAIChat {
			bad("stream.format", "an sse stream is read as openai_chat (chat.completion.chunk events); other event formats over sse are not supported yet")
		}
		if len(p.Handshake) > 0 {
			bad("handshake", "a server-sent-event stream has no handshake")
		}
	default:
		bad("stream.kind", "%q; want websocket or sse", p.Stream.Kind)
	}
	if p.Stream.Path == "" {
		bad("stream.path", "missing")
	}
	if !p.Auth.APIKey && p.Auth.Login == nil && p.Auth.Bypass == nil {
		bad("auth", "needs login, bypass, or api_key: true")
	}
	if !p.Auth.APIKey && p.Auth.Token == "" {
		bad("auth.token", "missing: the JSON path of the token in the login reply (e.g. access_token)")
	}
	for name, c := range map[string]*Call{"auth.register": p.Auth.Register, "auth.login": p.Auth.Login, "auth.bypass": p.Auth.Bypass,
		"auth.refresh": p.Auth.Refresh, "config": p.Config, "history": p.History} {
		if c == nil {
			continue
		}
		if c.Path == "" {
			bad(name+".path", "missing")
		}
		if err := checkTemplates(c.Path, c.Header, c.Body); err != nil {
			bad(name, "%v", err)
		}
	}
	if p.History != nil && p.History.Messages == "" {
		bad("history.messages", "missing: the JSON path of the list of messages")
	}
	for i, s := range p.Handshake {
		field := fmt.Sprintf("handshake[%d]", i)
		switch {
		case len(s.Wait) == 0 && s.Send == nil:
			bad(field, "a step waits for frames (wait) or sends one (send)")
		case len(s.Wait) > 0 && s.Send != nil:
			bad(field, "a step either waits or sends; split it in two")
		}
		if s.Timeout != "" {
			if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
				bad(field+".timeout", "%q; want a positive duration such as 10s", s.Timeout)
			}
		}
		if err := checkTemplates(s.Send); err != nil {
			bad(field+".send", "%v", err)
		}
	}
	if p.Request.Body == nil {
		bad("request.body", "missing: the frame or body that asks for one run")
	} else if err := checkTemplates(p.Request.Body); err != nil {
		bad("request.body", "%v", err)
	} else if !mentions(p.Request.Body, "{{.Content}}") {
		bad("request.body", "never uses {{.Content}}: the request must carry its nonce")
	}
	if len(p.Subprotocols()) > 0 {
		if err := checkTemplates(p.Stream.Subprotocols); err != nil {
			bad("stream.subprotocols", "%v", err)
		}
	}
	switch p.Stream.Format {
	case "", FormatEvents:
		errs = append(errs, p.Events.validate()...)
	case FormatOpenAIChat:
		if p.Stream.Kind != StreamSSE {
			bad("stream.format", "openai_chat is a server-sent-event format; want kind: sse")
		}
		if !isZero(p.Events) {
			bad("events", "the openai_chat format reads its chunks itself; leave events out")
		}
	default:
		bad("stream.format", "%q; want events or openai_chat", p.Stream.Format)
	}
	switch p.Memory {
	case "", "metrics", "proc", "none":
	default:
		bad("memory", "%q; want metrics, proc or none", p.Memory)
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

// validate checks an events section.
func (ev Events) validate() []error {
	var errs []error
	bad := func(field, f string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+f, append([]any{field}, a...)...))
	}
	if ev.Type == "" {
		bad("events.type", "missing: the JSON path of an event's type")
	}
	if len(ev.Map.Started) == 0 && len(ev.Map.Thinking) == 0 {
		bad("events.map", "names no started or thinking events: nothing would start a run")
	}
	if len(ev.Map.Completed) == 0 {
		bad("events.map.completed", "missing: the events that end a run")
	}
	if (ev.Wrapped == "") != (ev.WrappedType == "") {
		bad("events.wrapped", "wrapped and wrapped_type go together")
	}
	if ev.End.Kind != "" && ev.End.Kind != "completed" {
		bad("events.end.kind", "%q; only completed events end a run", ev.End.Kind)
	}
	if ev.End.Path != "" && len(ev.End.Values) == 0 {
		bad("events.end.values", "end.path %q needs the values that end the run", ev.End.Path)
	}
	if len(ev.Answer) == 0 {
		bad("events.answer", "missing: the paths of the answer text")
	}
	seen := map[string]string{}
	for part, types := range map[string][]string{"started": ev.Map.Started, "thinking": ev.Map.Thinking, "tool_start": ev.Map.ToolStart,
		"tool_end": ev.Map.ToolEnd, "completed": ev.Map.Completed, "error": ev.Map.Error, "ignore": ev.Map.Ignore} {
		for _, t := range types {
			if other, dup := seen[t]; dup && other != part {
				first, second := min(other, part), max(other, part)
				bad("events.map", "event type %q is both %s and %s", t, first, second)
			}
			seen[t] = part
		}
	}
	return errs
}

func isZero(ev Events) bool {
	return ev.Type == "" && ev.Wrapped == "" && len(ev.Data) == 0 && ev.RunID == "" && ev.Seq == "" && len(ev.Answer) == 0 &&
		len(ev.Map.Started)+len(ev.Map.Thinking)+len(ev.Map.Completed)+len(ev.Map.Error)+len(ev.Map.Ignore) == 0
}

// Subprotocols returns the stream's subprotocol templates.
func (p *Profile) Subprotocols() []string { return p.Stream.Subprotocols }

// checkTemplatesWith renders every string in vs over f, so that a
// template that does not parse, or names a field that does not exist
// ({{.Emial}}, a capture no handshake step makes), is an error.
func checkTemplatesWith(f Fields, vs ...any) error {
	var errs []error
	for _, v := range vs {
		if _, err := Render(v, f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mentions reports whether some string in v contains s.
func mentions(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}
