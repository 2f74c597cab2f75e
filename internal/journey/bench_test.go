package journey_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// BenchmarkOracleObserve judges frames: per connection,
// connection_established then runs of five events each, then Done. "1run"
// is a journey's connection; "100runs" shows the steady per-frame cost.
func BenchmarkOracleObserve(b *testing.B) {
	for _, runs := range []int{1, 100} {
		evs := cleanRun()[:1]
		mids := make([]string, runs)
		for i := range runs {
			mids[i] = fmt.Sprintf("m%d", i)
			for _, e := range cleanRun()[1:] {
				e.data = strings.ReplaceAll(strings.ReplaceAll(e.data, `"r1"`, `"r-`+mids[i]+`"`), mid1, mids[i])
				evs = append(evs, e)
			}
		}
		frames := number(evs)
		b.Run(fmt.Sprintf("%drun", runs), func(b *testing.B) {
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				o := journey.NewOracle(me)
				for _, m := range mids {
					o.Expect(m, content)
				}
				for _, f := range frames {
					if _, vs := o.Observe(f); vs != nil {
						b.Fatalf("violations %v on a clean run", vs)
					}
				}
				if vs := o.Done(); vs != nil {
					b.Fatalf("violations %v on a clean run", vs)
				}
				n += len(frames)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/frame")
		})
	}
}

// BenchmarkJourney: one user's whole journey against a real backend on
// loopback (think time 0, bcrypt cost 4), one journey at a time.
func BenchmarkJourney(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts journey.Options
	}{
		{"one_message", journey.Options{}},
		{"three_messages_config_db", journey.Options{Messages: 3, ConfigAccess: true, DBOps: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			be := startBackend(b, "", nil)
			acct := be.account(b)
			ctx := context.Background()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				if bc.opts.DBOps { // a fresh account, so the thread list does not grow
					b.StopTimer()
					acct = be.account(b)
					b.StartTimer()
				}
				r := journey.Run(ctx, be.target, acct, bc.opts)
				if !r.OK() {
					b.Fatalf("Run: err %v, violations %v", r.Err, r.Violations)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "journeys/s")
		})
	}
}
