// Package cli is goldenpath's composition root: one flag.FlagSet per
// subcommand, typed flag values, wiring, and exit codes. It is the only
// package that parses flags, handles signals beyond the main context, or
// decides an exit code.
package cli

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goldenpath-dev/goldenpath"
)

// Exit codes.
const (
	ExitOK          = 0 // success; every check passed
	ExitFailed      = 1 // a check failed, or the command failed at run time
	ExitUsage       = 2 // bad usage or configuration
	ExitUnreachable = 3 // the target is unreachable or not ready
	ExitInterrupted = 4 // interrupted (SIGINT or SIGTERM); partial results were written
)

// env is what a subcommand runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() []command {
	return []command{
		{"compare", "compare two baselines, or two targets live, metric by metric with statistics", compareMain},
		{"merge", "merge the results of the segments of one distributed test", mergeMain},
		{"profile", "check a target profile: walk one journey and print every step and frame", profileMain},
		{"report", "rebuild the reports (junit.xml, report.md, report.html) from a results.json", reportMain},
		{"run", "drive golden-path users against a target and judge them (the main job)", runMain},
		{"serve", "run the reference golden-path backend", serveMain},
		{"users", "register a reusable set of accounts on a target (CSV for --users-file)", usersMain},
		{"version", "print the version", versionMain},
	}
}

// Main runs goldenpath with args (without the program name) and returns the
// exit code. ctx ends on SIGINT or SIGTERM.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, environ: os.Environ()})
}

func mainEnv(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return ExitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			return mainEnv(ctx, []string{args[1], "-h"}, e)
		}
		usage(e.stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "goldenpath: unknown command %q\n\n", name)
	usage(e.stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "goldenpath proves whether a real-time AI agent backend keeps its promises under load.")
	fmt.Fprintln(w, "\nUsage:\n  goldenpath <command> [flags]\n\nCommands:")
	for _, c := range commands() { // in alphabetical order
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'goldenpath <command> -h' for a command's flags.")
}

// helpTexts are the subcommands' help texts, help/NAME.txt.
//
//go:embed help/*.txt
var helpTexts embed.FS

// help returns the help text of a subcommand.
func help(name string) string {
	b, _ := helpTexts.ReadFile("help/" + name + ".txt") // TestHelpTexts: every command has one
	return strings.TrimSpace(string(b))
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", help(name))
		fs.PrintDefaults()
	}
	return fs
}

func versionMain(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("version")
	if code, done := parse(fs, e, args); done {
		return code
	}
	fmt.Fprintln(e.stdout, "goldenpath", goldenpath.Version())
	return ExitOK
}
