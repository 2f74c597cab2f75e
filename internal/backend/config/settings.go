package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Default values of the known keys.
const (
	DefaultAgentName            = "golden-agent"
	DefaultThinkMS              = 200
	DefaultThinkingEvents       = 1
	DefaultToolCalls            = 1
	DefaultHeartbeatMS          = 15000
	DefaultMaxRunsPerConnection = 64
	DefaultSendQueue            = 256
)

// Settings is the typed view of the known keys of a values object. Its JSON
// form is a values object with every known key.
type Settings struct {
	// AgentName is the name the simulated agent reports, 1 to 64 characters.
	AgentName string `json:"agent_name"`
	// ThinkMS is the total simulated model time of one run in milliseconds,
	// 0 to 600000.
	ThinkMS int `json:"think_ms"`
	// ThinkingEvents is the number of thinking events of one run, 1 to 100.
	ThinkingEvents int `json:"thinking_events"`
	// ToolCalls is the number of tool calls of one run, 0 to 50.
	ToolCalls int `json:"tool_calls"`
	// HeartbeatMS is the interval of WebSocket heartbeats in milliseconds,
	// 100 to 3600000.
	HeartbeatMS int `json:"heartbeat_ms"`
	// MaxRunsPerConnection caps the runs of one connection, 1 to 4096.
	MaxRunsPerConnection int `json:"max_runs_per_connection"`
	// SendQueue is the number of frames queued per connection, 16 to 65536.
	SendQueue int `json:"send_queue"`
}

// Defaults returns the settings of the default values.
func Defaults() Settings {
	return Settings{
		AgentName:            DefaultAgentName,
		ThinkMS:              DefaultThinkMS,
		ThinkingEvents:       DefaultThinkingEvents,
		ToolCalls:            DefaultToolCalls,
		HeartbeatMS:          DefaultHeartbeatMS,
		MaxRunsPerConnection: DefaultMaxRunsPerConnection,
		SendQueue:            DefaultSendQueue,
	}
}

// Think returns ThinkMS as a duration.
func (s Settings) Think() time.Duration { return time.Duration(s.ThinkMS) * time.Millisecond }

// Heartbeat returns HeartbeatMS as a duration.
func (s Settings) Heartbeat() time.Duration {
	return time.Duration(s.HeartbeatMS) * time.Millisecond
}

// Validate returns nil when every field is in range, else an
// [*backend.Error] with code [backend.EINVALID] naming each field that is
// not.
func (s Settings) Validate() error {
	var problems []string
	for _, k := range keys {
		var v any
		if k.str != nil {
			v = *k.str(&s)
		} else {
			v = json.Number(strconv.Itoa(*k.num(&s)))
		}
		if p := k.set(&s, v); p != "" {
			problems = append(problems, p)
		}
	}
	return invalid(problems)
}

// ParseSettings returns the settings of a values object (a JSON object, as
// served under "values"): known keys absent from it take their defaults and
// unknown keys are ignored. A known key of the wrong type or out of range is
// an [*backend.Error] with code [backend.EINVALID], returned with the
// defaults.
func ParseSettings(values []byte) (Settings, error) {
	_, s, err := parse(values)
	return s, err
}

// Keys returns the known keys in bytewise order.
func Keys() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

// key describes one known key: its name, type, range and field. A string
// key has str set and its range counts characters; an integer key has num.
type key struct {
	name     string
	min, max int64
	str      func(*Settings) *string
	num      func(*Settings) *int
}

// keys are the known keys in bytewise order.
var keys = []key{
	{name: "agent_name", min: 1, max: 64, str: func(s *Settings) *string { return &s.AgentName }},
	{name: "heartbeat_ms", min: 100, max: 3600000, num: func(s *Settings) *int { return &s.HeartbeatMS }},
	{name: "max_runs_per_connection", min: 1, max: 4096, num: func(s *Settings) *int { return &s.MaxRunsPerConnection }},
	{name: "send_queue", min: 16, max: 65536, num: func(s *Settings) *int { return &s.SendQueue }},
	{name: "think_ms", min: 0, max: 600000, num: func(s *Settings) *int { return &s.ThinkMS }},
	{name: "thinking_events", min: 1, max: 100, num: func(s *Settings) *int { return &s.ThinkingEvents }},
	{name: "tool_calls", min: 0, max: 50, num: func(s *Settings) *int { return &s.ToolCalls }},
}

// lookup returns the known key called name.
func lookup(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// want says what the key accepts.
func (k key) want() string {
	if k.str != nil {
		return fmt.Sprintf("want a string of %d to %d characters", k.min, k.max)
	}
	return fmt.Sprintf("want an integer from %d to %d", k.min, k.max)
}

// defaultValue returns the key's default as a JSON value.
func (k key) defaultValue() any {
	d := Defaults()
	if k.str != nil {
		return *k.str(&d)
	}
	return json.Number(strconv.Itoa(*k.num(&d)))
}

// set checks v, a value decoded with json.Decoder.UseNumber, and stores it
// in s. It returns what is wrong with v, or "" when v is accepted.
func (k key) set(s *Settings, v any) string {
	if k.str != nil {
		str, ok := v.(string)
		if !ok {
			return fmt.Sprintf("%s = %s is %s, %s", k.name, show(v), kind(v), k.want())
		}
		switch n := int64(utf8.RuneCountInString(str)); {
		case n == 0:
			return fmt.Sprintf("%s = %s is empty, %s", k.name, show(v), k.want())
		case n < k.min || n > k.max:
			return fmt.Sprintf("%s = %s is %d characters long, %s", k.name, show(v), n, k.want())
		}
		*k.str(s) = str
		return ""
	}
	num, ok := v.(json.Number)
	if !ok {
		return fmt.Sprintf("%s = %s is %s, %s", k.name, show(v), kind(v), k.want())
	}
	n, err := integer(string(num))
	if err == nil && (n < k.min || n > k.max) {
		err = errOutOfRange
	}
	if err != nil {
		return fmt.Sprintf("%s = %s is %v, %s", k.name, show(v), err, k.want())
	}
	*k.num(s) = int(n)
	return ""
}

// parse validates a values object and returns its canonical form, with the
// defaults of absent known keys filled in, and its settings.
func parse(values []byte) ([]byte, Settings, error) {
	s := Defaults()
	m, err := decodeObject(values)
	if err != nil {
		return nil, s, &backend.Error{Code: backend.EINVALID,
			Message: "config: values must be one JSON object", Err: err}
	}
	var problems []string
	for _, k := range keys {
		v, ok := m[k.name]
		if !ok {
			m[k.name] = k.defaultValue()
			continue
		}
		if p := k.set(&s, v); p != "" {
			problems = append(problems, p)
		}
	}
	if err := invalid(problems); err != nil {
		return nil, Defaults(), err
	}
	canonical, err := protocol.CanonicalValue(m)
	if err != nil {
		return nil, Defaults(), &backend.Error{Code: backend.EINVALID,
			Message: "config: values cannot be encoded", Err: err}
	}
	return canonical, s, nil
}

// decodeObject decodes one JSON object, keeping numbers as written.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("got null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return m, nil
}

// invalid returns an EINVALID error listing the problems, or nil when there
// are none.
func invalid(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return backend.Errorf(backend.EINVALID, "config: %s", strings.Join(problems, "; "))
}

// kind names the JSON type of a decoded value for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

// show renders a decoded value for error messages, shortened to about 40
// bytes.
func show(v any) string {
	b, err := protocol.CanonicalValue(v)
	if err != nil {
		b = []byte(fmt.Sprint(v)) // not JSON, as YAML's .inf
	}
	const max = 40
	if len(b) <= max {
		return string(b)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

var (
	errNotInteger = errors.New("not an integer")
	errOutOfRange = errors.New("out of range")
)

// integer returns the exact value of a JSON number literal when it is an
// integer that fits in an int64: 1e3 and 200.0 are integers, 1.5 and
// 1e-400 are not. It does no floating-point arithmetic, so no rounding can
// turn 1.0000000000000000001 into 1.
func integer(num string) (int64, error) {
	neg := strings.HasPrefix(num, "-")
	mant, exp := strings.TrimPrefix(num, "-"), 0
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		const limit = 1 << 30 // far beyond any int64, far from overflow
		e, err := strconv.Atoi(mant[i+1:])
		switch {
		case err != nil && strings.HasPrefix(mant[i+1:], "-"), e < -limit:
			e = -limit
		case err != nil, e > limit:
			e = limit
		}
		mant, exp = mant[:i], e
	}
	digits := mant
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = mant[:i] + mant[i+1:]
		exp -= len(mant) - i - 1
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	switch {
	case exp < 0:
		return 0, errNotInteger
	case len(trimmed)+exp > 19:
		return 0, errOutOfRange
	}
	text := trimmed + strings.Repeat("0", exp)
	if neg {
		text = "-" + text
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, errOutOfRange
	}
	return n, nil
}
