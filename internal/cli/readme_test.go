package cli

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEveryFlag: the README's usage names every flag of run,
// compare and serve, so that a new user reading it misses none.
func TestREADMEListsEveryFlag(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, usage, ok := strings.Cut(string(b), "## Usage")
	if !ok {
		t.Fatal(`README.md has no "## Usage" section`)
	}
	usage, _, _ = strings.Cut(usage, "\n## ")
	e := testEnv(nil, nil)
	sets := map[string]*flag.FlagSet{
		"run":     runFlags(&runOptions{}),
		"compare": compareFlags(&compareOptions{}),
		"serve":   serveFlags(&serveOptions{}, e),
	}
	// Each command's lines: from a line "goldenpath CMD ..." to the next
	// line that starts another command.
	parts := map[string]string{}
	cur := ""
	for _, line := range strings.Split(usage, "\n") {
		if rest, ok := strings.CutPrefix(line, "goldenpath "); ok {
			cur, _, _ = strings.Cut(rest, " ")
		}
		parts[cur] += line + "\n"
	}
	for cmd, fs := range sets {
		part, ok := parts[cmd]
		if !ok {
			t.Errorf("README.md's usage has no goldenpath %s", cmd)
			continue
		}
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(part, "--"+f.Name+" ") && !strings.Contains(part, "--"+f.Name+",") && !strings.Contains(part, "--"+f.Name+"\n") {
				t.Errorf("README.md's usage of goldenpath %s does not list --%s (%s)", cmd, f.Name, f.Usage)
			}
		})
	}
}
