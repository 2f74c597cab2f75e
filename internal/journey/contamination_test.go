package journey_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// TestRunHandshakeRace: a request sent the instant connection_established
// arrives is lost under handshake-race; a settle delay longer than the
// race window hides it, and a clean backend answers at once. The margins
// (window 300 ms, settle 1 s, run timeout 2 s) are wide because -race on a
// shared two-core machine delays timers by hundreds of milliseconds.
func TestRunHandshakeRace(t *testing.T) {
	t.Parallel()
	clean := startBackend(t, "", nil)
	racy := startBackend(t, "handshake-race=300ms", nil)
	for _, tc := range []struct {
		name   string
		b      *backend
		settle time.Duration
		fail   bool
	}{
		{"clean", clean, 0, false},
		{"race, no settle", racy, 0, true},
		{"race, settle past the window", racy, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := journey.Run(context.Background(), tc.b.target, tc.b.account(t), journey.Options{SettleDelay: tc.settle, RunTimeout: 2 * time.Second})
			failed := r.Err != nil && r.Err.Kind == journey.FailTimeout && r.Err.Phase == journey.PhaseFirstEvent
			if failed != tc.fail || (!tc.fail && !r.OK()) {
				t.Errorf("Run = err %v, violations %v; want a first_event timeout: %t", r.Err, r.Violations, tc.fail)
			}
		})
	}
}

// TestRunCrossUser runs concurrent users whose nonces name them, with a
// Foreign hook that finds other users' nonces: the cross-user fault shows
// as foreign_user and foreign_data, a clean backend shows neither.
func TestRunCrossUser(t *testing.T) {
	t.Parallel()
	const users = 16
	nonce := regexp.MustCompile(`nonce-(\d+)-`)
	run := func(b *backend) (all []journey.Violation) {
		accts := make([]journey.Account, users)
		ids := make([]string, users)
		for i := range accts {
			accts[i] = journey.Account{Email: fmt.Sprintf("cross-%d-%s@example.test", i, rand.Text()[:8]), Password: "password-" + rand.Text()}
			id, err := journey.Register(context.Background(), b.target, accts[i])
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = id
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range users {
			wg.Go(func() {
				var seq atomic.Int64
				r := journey.Run(context.Background(), b.target, accts[i], journey.Options{
					RunTimeout: time.Second,
					Nonce:      func() string { return fmt.Sprintf("nonce-%d-%d", i, seq.Add(1)) },
					Foreign: func(frame []byte) (string, bool) {
						for _, m := range nonce.FindAllSubmatch(frame, -1) {
							if n, _ := strconv.Atoi(string(m[1])); n != i && n < users {
								return ids[n], true
							}
						}
						return "", false
					},
				})
				mu.Lock()
				defer mu.Unlock()
				all = append(all, r.Violations...)
			})
		}
		wg.Wait()
		return all
	}
	if vs := run(startBackend(t, "", map[string]string{"think_ms": "200"})); len(vs) > 0 {
		t.Errorf("clean backend: violations %v; want none", vs)
	}
	ks := kinds(run(startBackend(t, "cross-user", map[string]string{"think_ms": "200"})))
	for _, k := range []string{journey.ViolationForeignUser, journey.ViolationForeignData} {
		if !slices.Contains(ks, k) {
			t.Errorf("cross-user: violation kinds %v; want %s among them", ks, k)
		}
	}
}
