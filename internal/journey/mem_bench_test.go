package journey_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// BenchmarkStreamingUserMemory measures what one connected user costs the
// client while its run streams: N users' journeys, begun with Start, are held mid-run (the
// backend at GOLDENPATH_BENCH_URL must take seconds per run, e.g. serve
// --think 5s), and the heap and stacks in use are read then, over N. It
// reports heap-B/user and stack-B/user; GOLDENPATH_BENCH_HEAPPROFILE=FILE
// writes what is live then, every allocation sampled.
func BenchmarkStreamingUserMemory(b *testing.B) {
	if os.Getenv("GOLDENPATH_BENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	url := os.Getenv(benchURLEnv)
	if url == "" {
		b.Skipf("set %s to a reference backend's URL with seconds of think time", benchURLEnv)
	}
	const users = 500
	tgt, err := journey.NewTarget(url)
	if err != nil {
		b.Fatal(err)
	}
	accts := make([]journey.Account, users)
	for i := range accts {
		accts[i] = journey.Account{Email: fmt.Sprintf("mem-%s-%d@example.test", rand.Text()[:8], i), Password: "pw-" + rand.Text()}
		if _, err := journey.Register(context.Background(), tgt, accts[i]); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		runtime.GC()
		var before, during runtime.MemStats
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for _, a := range accts {
			wg.Add(1)
			journey.Start(context.Background(), tgt, a, journey.Options{RunTimeout: 30 * time.Second}, func(*journey.Result) { wg.Done() })
		}
		time.Sleep(2 * time.Second) // all logged in and streaming
		// The login pool's idle connections (at most
		// DefaultMaxIdleConnsPerHost, whatever the users) are not a cost
		// per user: close them so that the figure is.
		tgt.HTTP.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond)
		for range 4 {
			runtime.GC() // each shrinks a stack by half at most
		}
		runtime.ReadMemStats(&during)
		b.ReportMetric(float64(int64(during.HeapInuse)-int64(before.HeapInuse))/users, "heap-B/user")
		b.ReportMetric(float64(int64(during.StackInuse)-int64(before.StackInuse))/users, "stack-B/user")
		b.ReportMetric(float64(runtime.NumGoroutine())/users, "goroutines/user")
		if f := os.Getenv("GOLDENPATH_BENCH_HEAPPROFILE"); f != "" {
			writeHeapProfile(b, f) // what is live mid-run, not what was allocated
		}
		wg.Wait()
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
