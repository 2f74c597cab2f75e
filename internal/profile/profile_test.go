package profile

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestBuiltinsLoad(t *testing.T) {
	names := Builtins()
	if len(names) == 0 {
		t.Fatal("Builtins() is empty; want at least goldenpath")
	}
	for _, name := range names {
		p, err := Load(name)
		if err != nil {
			t.Errorf("Load(%q) = %v; want the built-in profile", name, err)
			continue
		}
		if p.Name != name {
			t.Errorf("built-in %s calls itself %q", name, p.Name)
		}
	}
	p, err := Load("goldenpath")
	if err != nil {
		t.Fatal(err)
	}
	if p.Stream.Kind != StreamWebSocket || p.Events.Seq != "seq" || !p.Oracle.QuotesNonce || p.History == nil || p.Config == nil {
		t.Errorf("goldenpath profile = %+v; want a websocket stream with seq, the nonce oracle, config and history", p)
	}
}

// Bad input names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	good, err := os.ReadFile("builtin/goldenpath.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lineOf := func(text string) string { // "line N" of text's first line in the built-in
		i := strings.Index(string(good), text)
		return "line " + strconv.Itoa(strings.Count(string(good[:i]), "\n")+1)
	}
	for _, tc := range []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"an unknown field", func(s string) string {
			return strings.Replace(s, "  kind: websocket", "  kind: websocket\n  kidn: sse", 1)
		},
			[]string{"my.yaml", "line " + strconv.Itoa(atoi(lineOf("  kind: websocket"))+1), "field kidn not found in type profile.Stream"}},
		{"a type error", func(s string) string { return strings.Replace(s, "expect: [200]", "expect: two hundred", 1) },
			[]string{"my.yaml", lineOf("expect: [200]"), "cannot unmarshal"}},
		{"a bad stream kind", func(s string) string { return strings.Replace(s, "kind: websocket", "kind: carrier-pigeon", 1) },
			[]string{"my.yaml: stream.kind: \"carrier-pigeon\"; want websocket or sse"}},
		{"no end of a run", func(s string) string { return strings.Replace(s, "    completed: [agent_completed]\n", "", 1) },
			[]string{"events.map.completed: missing"}},
		{"a request without its nonce", func(s string) string { return strings.Replace(s, `content: "{{.Content}}"`, `content: "hello"`, 1) },
			[]string{"request.body: never uses {{.Content}}"}},
		{"a template that does not parse", func(s string) string { return strings.Replace(s, `"{{.MessageID}}"`, `"{{.MessageID"`, 1) },
			[]string{"request.body: template \"{{.MessageID\""}},
		{"a field that does not exist", func(s string) string { return strings.Replace(s, `"{{.Email}}"`, `"{{.Emial}}"`, 1) },
			[]string{"auth.", "Emial"}},
		{"one event type twice", func(s string) string {
			return strings.Replace(s, "error: [agent_error]", "error: [agent_completed]", 1)
		},
			[]string{`event type "agent_completed" is both completed and error`}},
		{"no way to log in", func(s string) string {
			i, j := strings.Index(s, "  login:"), strings.Index(s, "  token: access_token")
			return s[:i] + s[j:]
		}, []string{"auth: needs login, bypass, or api_key: true"}},
		{"two documents", func(s string) string { return s + "---\nname: again\n" }, []string{"more than one YAML document"}},
		{"an empty file", func(string) string { return "" }, []string{"the file is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("my.yaml", []byte(tc.edit(string(good))))
			if err == nil {
				t.Fatalf("Parse = nil; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadUnknownNameOrFile(t *testing.T) {
	_, err := Load("netra-typo")
	if err == nil || !strings.Contains(err.Error(), `"netra-typo": no such built-in profile (goldenpath`) {
		t.Errorf("Load(netra-typo) = %v; want an error naming the built-ins", err)
	}
	f := filepath.Join(t.TempDir(), "mine.yaml")
	b, _ := os.ReadFile("builtin/goldenpath.yaml")
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), "name: goldenpath", "name: mine", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := Load(f); err != nil || p.Name != "mine" {
		t.Errorf("Load(%s) = %v, %v; want the profile named mine", f, p, err)
	}
}

func atoi(line string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(line, "line "))
	return n
}

// The built-ins say what their target documents say (NETRA.md, OPENAI.md).
func TestBuiltinsDescribeTheirTargets(t *testing.T) {
	n, err := Load("netra")
	if err != nil {
		t.Fatal(err)
	}
	if n.Stream.Token != TokenSubprotocol || len(n.Handshake) != 3 || n.Handshake[0].Capture["thread_id"] == "" ||
		n.Events.Seq != "" || n.Events.End.Path != "agent_name" || !slices.Contains(n.Events.End.Values, "Supervisor") || n.Auth.UserID != "user.id" {
		t.Errorf("netra profile = %+v; want a subprotocol token, the three-step handshake capturing thread_id, no seq, runs ended by the Supervisor, user.id", n)
	}
	o, err := Load("openai")
	if err != nil {
		t.Fatal(err)
	}
	if o.Stream.Kind != StreamSSE || o.Stream.Format != FormatOpenAIChat || !o.Auth.APIKey || o.Oracle.QuotesNonce || !o.Oracle.FirstTokenIsNonce {
		t.Errorf("openai profile = %+v; want sse chat chunks, an API key, and ownership by the first token, not by quoting", o)
	}
	b, _ := os.ReadFile("builtin/openai.yaml")
	if _, err := Parse("x.yaml", []byte(strings.Replace(string(b), "kind: sse", "kind: websocket\n  token: header", 1))); err == nil ||
		!strings.Contains(err.Error(), "stream.format: openai_chat is a server-sent-event format") {
		t.Errorf("openai_chat over a websocket: Parse error = %v; want it refused", err)
	}
}
