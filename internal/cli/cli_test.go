package cli

import (
	"bytes"
	"github.com/goldenpath-dev/goldenpath"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testEnv is an env with the given output and an empty environment, so
// that no GOLDENPATH_* variable of the machine running the tests leaks in.
func testEnv(stdout, stderr *bytes.Buffer) *env {
	return &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}
}

// The usage text, whole lines of it.
var usageLines = []string{
	"Usage:\n  goldenpath <command> [flags]\n",
	"\n  serve      run the reference golden-path backend\n",
	"\n  version    print the version\n",
	"Run 'goldenpath <command> -h' for a command's flags.",
}

// The flags `serve -h` must list.
var serveFlagLines = []string{
	"Usage: goldenpath serve [flags]",
	"-addr HOST:PORT", "-data DIR", "-admin-token TOKEN", "-think DURATION", "-fault FAULTS",
	"-config FILE", "-jwt-secret SECRET", "-hash-cost COST", "-token-ttl duration", "-drain-timeout duration",
	"-model-url URL", "-model-name NAME", "-model-key KEY", "-log-level LEVEL", "-log-format FORMAT",
	"Known faults:",
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		// Text that must appear on stdout, on stderr, or on either.
		stdout, stderr, either []string
	}{
		{name: "no arguments", args: nil, code: ExitUsage, stderr: usageLines},
		{name: "help", args: []string{"help"}, code: ExitOK, stdout: usageLines},
		{name: "-h", args: []string{"-h"}, code: ExitOK, stdout: usageLines},
		{name: "--help", args: []string{"--help"}, code: ExitOK, stdout: usageLines},
		{name: "help serve", args: []string{"help", "serve"}, code: ExitOK, either: serveFlagLines},
		{name: "serve -h", args: []string{"serve", "-h"}, code: ExitOK, either: serveFlagLines},
		{name: "serve --help", args: []string{"serve", "--help"}, code: ExitOK, either: serveFlagLines},
		{name: "help version", args: []string{"help", "version"}, code: ExitOK, either: []string{"Usage: goldenpath version [flags]"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: ExitUsage,
			stderr: append([]string{`goldenpath: unknown command "frobnicate"`}, usageLines...)},
		{name: "help for an unknown command", args: []string{"help", "frobnicate"}, code: ExitUsage,
			stderr: []string{`goldenpath: unknown command "frobnicate"`}},
		{name: "version", args: []string{"version"}, code: ExitOK, stdout: []string{"goldenpath "}},
		{name: "version with an argument", args: []string{"version", "extra"}, code: ExitUsage,
			stderr: []string{`goldenpath version: unexpected argument "extra"`}},
		{name: "version with an unknown flag", args: []string{"version", "--bogus"}, code: ExitUsage,
			stderr: []string{"goldenpath version: unknown flag --bogus\nsee goldenpath version -h\n"}},
		{name: "unknown fault", args: []string{"serve", "--fault", "nope"}, code: ExitUsage,
			stderr: []string{`goldenpath serve: --fault "nope": fault: unknown fault "nope"; known faults: handshake-race, shared-agent,`}},
		{name: "bad fault value", args: []string{"serve", "--fault", "close-1011=2"}, code: ExitUsage,
			stderr: []string{`fault: close-1011: "2" is not a fraction in (0,1]`}},
		{name: "negative think", args: []string{"serve", "--think", "-1s"}, code: ExitUsage,
			stderr: []string{`goldenpath serve: --think -1s is not a duration >= 0`}},
		{name: "think without unit", args: []string{"serve", "--think", "200"}, code: ExitUsage,
			stderr: []string{`goldenpath serve: --think "200": a duration needs a unit: write e.g. 200s, 200ms or 200m`}},
		{name: "short jwt secret", args: []string{"serve", "--jwt-secret", "short"}, code: ExitUsage,
			stderr: []string{"goldenpath serve: --jwt-secret is 5 bytes; use at least 32"}},
		{name: "serve with an argument", args: []string{"serve", "extra-arg"}, code: ExitUsage,
			stderr: []string{"goldenpath serve: unexpected argument \"extra-arg\" (flags go before arguments)\nsee goldenpath serve -h\n"}},
		{name: "flag after an argument", args: []string{"serve", "extra-arg", "--fault", "nope"}, code: ExitUsage,
			stderr: []string{`unexpected argument "extra-arg"`}},
		{name: "bad log level", args: []string{"serve", "--log-level", "loud"}, code: ExitUsage,
			stderr: []string{`"loud" is not a log level; use debug, info, warn or error`}},
		{name: "bad log format", args: []string{"serve", "--log-format", "xml"}, code: ExitUsage,
			stderr: []string{`"xml" is not one of text, json`}},
		{name: "bad hash cost flag", args: []string{"serve", "--hash-cost", "ten"}, code: ExitUsage,
			stderr: []string{`goldenpath serve: --hash-cost "ten": not a whole number`}},
		{name: "no data directory", args: []string{"serve", "--addr", "127.0.0.1:0", "--data", ""}, code: ExitUsage,
			stderr: []string{"goldenpath serve: no data directory; pass --data DIR\nsee goldenpath serve -h\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainEnv(t.Context(), tt.args, testEnv(&stdout, &stderr))
			if code != tt.code {
				t.Errorf("Main(%q) = %d; want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, &stdout, &stderr)
			}
			checkContains(t, tt.args, "stdout", stdout.String(), tt.stdout)
			checkContains(t, tt.args, "stderr", stderr.String(), tt.stderr)
			checkContains(t, tt.args, "the output", stdout.String()+stderr.String(), tt.either)
			if code != ExitOK && stdout.Len() > 0 {
				t.Errorf("Main(%q) = %d and wrote %q on stdout; want nothing on stdout when it fails", tt.args, code, &stdout)
			}
		})
	}
}

func checkContains(t *testing.T, args []string, where, got string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("Main(%q) wrote on %s:\n%s\nwant it to contain %q", args, where, got, w)
		}
	}
}

func TestMainVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := mainEnv(t.Context(), []string{"version"}, testEnv(&stdout, &stderr)); code != ExitOK {
		t.Fatalf("Main([version]) = %d; want %d; stderr: %s", code, ExitOK, &stderr)
	}
	want := regexp.MustCompile(`^goldenpath (devel|v\d+\.\d+\.\d+\S*)(\+[0-9a-f]{12})?\n$`)
	if !want.MatchString(stdout.String()) {
		t.Errorf("Main([version]) printed %q; want a line matching %s", &stdout, want)
	}
	if got := "goldenpath " + goldenpath.Version() + "\n"; stdout.String() != got {
		t.Errorf("Main([version]) printed %q; want %q, from goldenpath.Version()", &stdout, got)
	}
}

func TestMainServeBadStartIsUsageError(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"missing config file", []string{"--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{"bcrypt cost too low", []string{"--hash-cost", "3"}, "--hash-cost 3 is outside bcrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tt.args...)
			var stdout, stderr bytes.Buffer
			code := mainEnv(t.Context(), args, testEnv(&stdout, &stderr))
			if code != ExitUsage || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("Main(%q) = %d with stderr:\n%s\nwant %d and an error containing %q", args, code, &stderr, ExitUsage, tt.wantErr)
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("Main(%q) printed %q; want no listening line from a server that did not start", args, &stdout)
			}
		})
	}
}

// TestHelpTexts: every command has its help text, starting with its usage.
func TestHelpTexts(t *testing.T) {
	for _, c := range commands() {
		if h := help(c.name); !strings.HasPrefix(h, "Usage: goldenpath "+c.name+" ") {
			t.Errorf("help(%q) = %.60q...; want help/%s.txt to start with \"Usage: goldenpath %s \"", c.name, h, c.name, c.name)
		}
	}
}
