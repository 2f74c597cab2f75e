// Command goldenpath proves whether a real-time AI agent backend keeps its
// promises under load, and ships the reference backend it runs against by
// default. See `goldenpath help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/goldenpath-dev/goldenpath/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
