package profile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind is the part of the golden-path grammar an event plays.
type Kind string

// Kinds of [Event]; KindUnknown is a type the profile does not map.
const (
	KindUnknown   Kind = ""
	KindStarted   Kind = "started"
	KindThinking  Kind = "thinking"
	KindToolStart Kind = "tool_start"
	KindToolEnd   Kind = "tool_end"
	KindCompleted Kind = "completed"
	KindError     Kind = "error"
	KindIgnore    Kind = "ignore"
)

// Event is one frame of the target read through its profile.
type Event struct {
	Type                               string // the target's own type, unwrapped
	Kind                               Kind
	RunID, ThreadID, UserID, MessageID string
	Seq                                int64
	HasSeq                             bool
	// Ends is true for the event that ends its run: a completed event
	// that meets the profile's end rule (a sub-agent's completion does
	// not).
	Ends   bool
	Answer string // the answer text of a completed event, when found
}

// Read decodes frame as an event of p's target: its type (a wrapped
// frame's inner type), the fields of its data envelope, the ids, seq, its
// kind in the grammar, whether it ends its run and its answer. It fails
// only on a frame that is not a JSON object or has no type; a frame whose
// type the profile does not map is KindUnknown.
func (p *Profile) Read(frame []byte) (Event, error) {
	var top map[string]any
	if err := json.Unmarshal(frame, &top); err != nil {
		return Event{}, fmt.Errorf("frame is not a JSON object: %v", err)
	}
	ev := p.Events
	var e Event
	if e.Type, _ = str(top, ev.Type); e.Type == "" {
		return Event{}, fmt.Errorf("frame has no type at %q", ev.Type)
	}
	if ev.Wrapped != "" && e.Type == ev.Wrapped {
		if inner, ok := str(top, ev.WrappedType); ok && inner != "" {
			e.Type = inner
		}
	}
	data := top
	for _, path := range ev.Data {
		if m, ok := Lookup(top, path).(map[string]any); ok {
			data = m
			break
		}
	}
	field := func(path string) string { // in the data envelope, else at the top
		if path == "" {
			return ""
		}
		if s, ok := str(data, path); ok {
			return s
		}
		s, _ := str(top, path)
		return s
	}
	e.RunID, e.ThreadID, e.UserID, e.MessageID = field(ev.RunID), field(ev.ThreadID), field(ev.UserID), field(ev.MessageID)
	if ev.Seq != "" {
		if n, ok := Lookup(top, ev.Seq).(float64); ok && n == float64(int64(n)) {
			e.Seq, e.HasSeq = int64(n), true
		}
	}
	e.Kind = ev.Map.kindOf(e.Type)
	if e.Kind == KindCompleted {
		e.Ends = ev.End.Path == "" || slices.Contains(ev.End.Values, field(ev.End.Path))
		for _, path := range ev.Answer {
			if s, ok := str(data, path); ok {
				e.Answer = s
				break
			}
		}
	}
	return e, nil
}

func (m EventMap) kindOf(typ string) Kind {
	for _, k := range []struct {
		kind  Kind
		types []string
	}{{KindStarted, m.Started}, {KindThinking, m.Thinking}, {KindToolStart, m.ToolStart}, {KindToolEnd, m.ToolEnd},
		{KindCompleted, m.Completed}, {KindError, m.Error}, {KindIgnore, m.Ignore}} {
		if slices.Contains(k.types, typ) {
			return k.kind
		}
	}
	return KindUnknown
}

// Lookup follows a dot-separated path (e.g. "user.id") through decoded
// JSON objects; nil when it leads nowhere.
func Lookup(v any, path string) any {
	if path == "" {
		return nil
	}
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[part]; !ok {
			return nil
		}
	}
	return v
}

// str is Lookup for a string value.
func str(v any, path string) (string, bool) {
	s, ok := Lookup(v, path).(string)
	return s, ok
}
