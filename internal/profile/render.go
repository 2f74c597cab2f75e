package profile

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"text/template"
)

// Fields are what a profile's templates may use: the account's, the
// token's, the request's, and what the handshake captured.
type Fields struct {
	Email, Password, Name string
	BypassKey, Model      string
	Token, TokenBase64URL string
	RefreshToken          string
	MessageID, Content    string
	ThreadID, RunID       string
	Captured              map[string]string
}

// Render returns v (a profile's body, header or frame: maps, lists and
// scalars as YAML gave them) with every string executed as a template over
// f. A field that does not exist is an error naming it; the result is
// ready for encoding/json, which escapes what the fields hold.
func Render(v any, f Fields) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		t, err := parsed(x)
		if err != nil {
			return nil, fmt.Errorf("template %q: %v", x, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, f); err != nil {
			return nil, fmt.Errorf("template %q: %v", x, err)
		}
		return b.String(), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := Render(e, f)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case map[string]string:
		out := maps.Clone(x)
		for k, e := range x {
			r, err := Render(e, f)
			if err != nil {
				return nil, err
			}
			out[k] = r.(string)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := Render(e, f)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// templates caches parsed templates by their text: a journey renders the
// same few strings for every request. A profile holds a handful, so the
// cache stays small; a text that does not parse is not kept.
var templates sync.Map // string -> *template.Template

func parsed(text string) (*template.Template, error) {
	if t, ok := templates.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	templates.Store(text, t)
	return t, nil
}
