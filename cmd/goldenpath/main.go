// Command goldenpath proves whether a real-time AI agent backend keeps its
// promises under load, and ships the reference backend it runs against by
// default. See `goldenpath help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/goldenpath-dev/goldenpath/internal/cli"
)

// cpuProfileEnv names a file that receives a CPU profile of the whole
// command (`go tool pprof`), for measuring the load generator's own cost
// (docs/benchmarks.md).
const cpuProfileEnv = "GOLDENPATH_CPUPROFILE"

// memProfileEnv names a file that receives, when the command ends, a
// profile of every allocation it made (`go tool pprof -sample_index
// alloc_objects`): what the load generator allocates per journey. Every
// allocation is recorded (runtime.MemProfileRate 1), not a sample of one
// per 512 KiB, so the counts are exact; the run is slower for it.
const memProfileEnv = "GOLDENPATH_MEMPROFILE"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile()
	if os.Getenv(memProfileEnv) != "" {
		runtime.MemProfileRate = 1
	}
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	writeMemProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile starts the profile cpuProfileEnv asks for, if any, and
// returns what stops it.
func startCPUProfile() func() {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "goldenpath: %s=%s: %v; running without a CPU profile\n", cpuProfileEnv, path, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// writeMemProfile writes the allocation profile memProfileEnv asks for,
// if any.
func writeMemProfile() {
	path := os.Getenv(memProfileEnv)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "goldenpath: %s=%s: %v\n", memProfileEnv, path, err)
	}
}
