package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

// profileMain is `goldenpath profile check`: one journey walked step by
// step, for a user writing a profile.
func profileMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			args = []string{"check", "-h"}
		} else {
			return usageError(e, "profile", "say what to do: goldenpath profile check --profile NAME|FILE [--target URL]")
		}
	}
	var p profileFlags
	var target string
	var timeout time.Duration
	fs := newFlagSet("profile")
	p.register(fs)
	fs.StringVar(&target, "target", "", "base `URL` of the target; empty: the embedded reference backend, speaking the profile")
	fs.DurationVar(&timeout, "run-timeout", 10*time.Second, "longest wait for each frame the journey needs (`duration`)")
	if code, done := parse(fs, e, args[1:]); done {
		return code
	}
	p.secrets(e)
	ps, err := testbed.LoadProfile(p.name, p.authURL, p.bypassKey, p.apiKey, p.model)
	if err != nil {
		return usageError(e, "profile", "--profile: %v", err)
	}
	err = testbed.CheckProfile(ctx, testbed.Spec{URL: target, Profile: ps, Log: e.stderr, Label: "goldenpath profile check"}, timeout, e.stdout)
	switch {
	case goldenpath.IsUnreachable(err):
		fmt.Fprintf(e.stderr, "goldenpath profile check: %v\n", err)
		return ExitUnreachable
	case err != nil:
		fmt.Fprintf(e.stdout, "FAIL: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// usersMain is `goldenpath users create`: a reusable set of accounts,
// registered once, as CSV on stdout for --users-file.
func usersMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			args = []string{"create", "-h"}
		} else {
			return usageError(e, "users", "say what to do: goldenpath users create --target URL --count N > users.csv")
		}
	}
	var p profileFlags
	var target, prefix string
	var count int
	fs := newFlagSet("users")
	p.register(fs)
	fs.StringVar(&target, "target", "", "base `URL` of the target to register the accounts on (required)")
	fs.IntVar(&count, "count", 50, "how many accounts (`N`)")
	fs.StringVar(&prefix, "prefix", "", "account name `PREFIX` (emails PREFIX-0@example.test, ...); empty: a fresh one")
	if code, done := parse(fs, e, args[1:]); done {
		return code
	}
	switch {
	case target == "":
		return usageError(e, "users", "--target is required: the embedded backend's accounts would vanish with it")
	case count < 1:
		return usageError(e, "users", "--count must be at least 1 (got %d)", count)
	}
	p.secrets(e)
	ps, err := testbed.LoadProfile(p.name, p.authURL, p.bypassKey, p.apiKey, p.model)
	if err != nil {
		return usageError(e, "users", "--profile: %v", err)
	}
	accts, err := testbed.CreateUsers(ctx, target, ps, count, prefix)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath users create: %v\n", err)
		return ExitUnreachable
	}
	w := csv.NewWriter(e.stdout)
	_ = w.Write([]string{"email", "password"})
	for _, a := range accts {
		_ = w.Write([]string{a.Email, a.Password})
	}
	w.Flush()
	fmt.Fprintf(e.stderr, "goldenpath users create: %d accounts on %s; pass them with --users-file\n", len(accts), target)
	return ExitOK
}
