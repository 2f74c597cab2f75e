package journey_test

import (
	"context"
	"crypto/rand"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// benchURLEnv names a reference backend (a separate process, so that its
// CPU is not ours) for BenchmarkJourneyCPU; scripts/bench-profile.sh
// starts one.
const benchURLEnv = "GOLDENPATH_BENCH_URL"

// cpuTime is this process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJourneyCPU measures the client's CPU per journey, the built-in
// PROTOCOL v1 journey beside the same journey driven by the goldenpath
// profile, against a backend in another process: login, the socket and
// its handshake, one run of five events, close ("core"), and with the
// config read ("config"). (The read-back is left out: v1's lists every
// thread of the account, which grows with each journey of one account,
// while the profile's reads one thread: not the same work.) It reports
// cpu-us/op.
func BenchmarkJourneyCPU(b *testing.B) {
	url := os.Getenv(benchURLEnv)
	if url == "" {
		b.Skipf("set %s to a reference backend's URL (scripts/bench-profile.sh does)", benchURLEnv)
	}
	v1, err := journey.NewTarget(url)
	if err != nil {
		b.Fatal(err)
	}
	prof := profileTarget(b, url, "goldenpath", journey.ProfileSpec{})
	acct := journey.Account{Email: "bench-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
	if _, err := journey.Register(context.Background(), v1, acct); err != nil {
		b.Fatal(err)
	}
	for _, variant := range []struct {
		name string
		opts journey.Options
	}{{"core", journey.Options{}}, {"config", journey.Options{ConfigAccess: true}}} {
		for _, side := range []struct {
			name string
			t    *journey.Target
		}{{"v1", v1}, {"profile", prof}} {
			b.Run(variant.name+"/"+side.name, func(b *testing.B) {
				opts := variant.opts
				opts.RunTimeout = 10 * time.Second
				start := cpuTime()
				b.ResetTimer()
				for range b.N {
					if res := journey.Run(context.Background(), side.t, acct, opts); !res.OK() {
						b.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-us/op")
			})
		}
	}
}
