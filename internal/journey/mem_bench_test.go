package journey_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// BenchmarkStreamingUserMemory measures what one connected user costs the
// client while its run streams: N users' journeys are held mid-run (the
// backend at GOLDENPATH_BENCH_URL must take seconds per run, e.g. serve
// --think 5s), and the heap and stacks in use are read then, over N. It
// reports heap-B/user and stack-B/user; -memprofile shows where.
func BenchmarkStreamingUserMemory(b *testing.B) {
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
			go func() {
				defer wg.Done()
				journey.Run(context.Background(), tgt, a, journey.Options{RunTimeout: 30 * time.Second})
			}()
		}
		time.Sleep(2 * time.Second) // all logged in and streaming
		runtime.GC()
		runtime.ReadMemStats(&during)
		b.ReportMetric(float64(int64(during.HeapInuse)-int64(before.HeapInuse))/users, "heap-B/user")
		b.ReportMetric(float64(int64(during.StackInuse)-int64(before.StackInuse))/users, "stack-B/user")
		wg.Wait()
	}
}
