package journey_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const testSecret = "0123456789abcdef0123456789abcdef-journey-test"

// backend is a real reference backend on a free loopback port, with a
// real SQLite database in a temporary directory.
type backend struct {
	url    string
	target *journey.Target
}

// startBackend starts a backend with the given faults ("" for none) and
// configuration overrides (think_ms defaults to 0), and stops it when the
// test ends.
func startBackend(tb testing.TB, faults string, overrides map[string]string, more ...func(*server.Config)) *backend {
	tb.Helper()
	fs, err := fault.Parse(faults)
	if err != nil {
		tb.Fatalf("fault.Parse(%q): %v", faults, err)
	}
	cfg := server.Config{
		Addr: "127.0.0.1:0", DataDir: tb.TempDir(), AdminToken: "admin-secret",
		JWTSecret: []byte(testSecret), HashCost: 4, DrainTimeout: 2 * time.Second,
		Overrides: map[string]string{"think_ms": "0"}, Faults: fs,
	}
	for k, v := range overrides {
		cfg.Overrides[k] = v
	}
	for _, f := range more {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		tb.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			tb.Errorf("backend did not stop within 20s")
		}
	})
	b := &backend{url: srv.URL()}
	if b.target, err = journey.NewTarget(b.url); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := b.target.HTTP.Get(b.url + protocol.PathReadyz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backend at %s never became ready", b.url)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// account registers a fresh account.
func (b *backend) account(tb testing.TB) journey.Account {
	tb.Helper()
	a := journey.Account{Email: "u-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
	if _, err := journey.Register(context.Background(), b.target, a); err != nil {
		tb.Fatalf("Register: %v", err)
	}
	return a
}

// kinds lists the violation kinds of vs.
func kinds(vs []journey.Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Kind
	}
	return out
}

// count returns how many samples of phase r holds.
func count(r *journey.Result, phase string) int {
	n := 0
	for _, s := range r.Phases {
		if s.Name == phase {
			n++
		}
	}
	return n
}

// samples returns the durations of phase in the order measured.
func samples(r *journey.Result, phase string) []time.Duration {
	var ds []time.Duration
	for _, s := range r.Phases {
		if s.Name == phase {
			ds = append(ds, s.D)
		}
	}
	return ds
}
