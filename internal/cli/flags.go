package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
)

// parse parses a subcommand's flags; it returns done=true with the exit code
// when parsing ended the command (help or a usage error). A usage error is
// one line that names the flag, then where the help is — not the whole
// help, which would bury it.
func parse(fs *flag.FlagSet, e *env, args []string) (code int, done bool) {
	if code, done := parseArgs(fs, e, args); done {
		return code, true
	}
	if fs.NArg() > 0 {
		return usageError(e, fs.Name(), "unexpected argument %q (flags go before arguments)", fs.Arg(0)), true
	}
	return 0, false
}

// parseArgs is parse for a subcommand that takes arguments after its
// flags.
func parseArgs(fs *flag.FlagSet, e *env, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return ExitOK, true
	case err != nil:
		return usageError(e, fs.Name(), "%s", flagError(fs, err)), true
	}
	return 0, false
}

// usageError prints a usage error of a subcommand and returns ExitUsage.
func usageError(e *env, cmd, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "goldenpath %s: %s\nsee goldenpath %s -h\n", cmd, fmt.Sprintf(format, a...), cmd)
	return ExitUsage
}

var (
	invalidValueRE = regexp.MustCompile(`^invalid (?:value|boolean value) "(.*)" for flag -([^:]+): (.*)$`)
	notDefinedRE   = regexp.MustCompile(`^flag provided but not defined: -(.*)$`)
)

// flagError rewrites the flag package's errors in goldenpath's words:
// "--duration "10": ...", "unknown flag --nosuch".
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if m := invalidValueRE.FindStringSubmatch(msg); m != nil {
		why := strings.TrimPrefix(m[3], "parse error")
		if why == "" {
			why = "not a valid value"
			if g, ok := fs.Lookup(m[2]).Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case time.Duration:
					why = "not a duration; write e.g. 10s, 500ms or 2m"
					if _, err := strconv.ParseFloat(m[1], 64); err == nil {
						why = fmt.Sprintf("a duration needs a unit: write e.g. %[1]ss, %[1]sms or %[1]sm", m[1])
					}
				case int, int64, uint, uint64:
					why = "not a whole number"
				case float64:
					why = "not a number"
				case bool:
					why = "not true or false"
				}
			}
		}
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], strings.TrimPrefix(why, ": "))
	}
	if m := notDefinedRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown flag --%s", m[1])
	}
	return msg
}

// faultFlag is a --fault value.
type faultFlag struct{ set fault.Set }

func (f *faultFlag) String() string { return f.set.String() }
func (f *faultFlag) Set(s string) error {
	v, err := fault.Parse(s)
	if err != nil {
		return err
	}
	f.set = v
	return nil
}

// levelFlag is a --log-level value.
type levelFlag struct{ level slog.Level }

func (l *levelFlag) String() string { return strings.ToLower(l.level.String()) }
func (l *levelFlag) Set(s string) error {
	if err := l.level.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q is not a log level; use debug, info, warn or error", s)
	}
	return nil
}

// profileFlags say what a target speaks: run's and compare's --profile
// and the secrets and origins a profile may need.
type profileFlags struct{ name, authURL, bypassKey, apiKey, model string }

func (p *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.name, "profile", "goldenpath", "what the target speaks: a built-in `PROFILE` (goldenpath, netra, openai) or a profile FILE (docs/profiles.md)")
	fs.StringVar(&p.authURL, "auth-url", "", "base `URL` of the profile's auth service when it is not the target's origin")
	fs.StringVar(&p.bypassKey, "bypass-key", "", "`KEY` of the profile's bypass login (env GOLDENPATH_BYPASS_KEY); the embedded backend makes its own")
	fs.StringVar(&p.apiKey, "api-key", "", "bearer `KEY` of an api_key profile such as openai (env GOLDENPATH_API_KEY)")
	fs.StringVar(&p.model, "model", "", "`MODEL` a profile's requests name (openai); empty: the first of GET /v1/models")
}

// secrets reads the secrets that were not given as flags from the
// environment, where they belong (a flag shows in ps and shell history).
func (p *profileFlags) secrets(e *env) {
	p.bypassKey = orEnv(p.bypassKey, e, "GOLDENPATH_BYPASS_KEY")
	p.apiKey = orEnv(p.apiKey, e, "GOLDENPATH_API_KEY")
}
