package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// loginFrom tries a login from client and returns its error code.
func loginFrom(t *testing.T, svc *Service, client, email, password string) string {
	t.Helper()
	_, err := svc.Login(context.Background(), client, email, password)
	return backend.ErrorCode(err)
}

func TestFailuresAreCountedPerClientAndEmail(t *testing.T) {
	svc, clock := newTestService(t, WithFailureLimit(3, time.Minute))
	mustRegister(t, svc, ada, adaPW)
	const attacker, owner = "198.51.100.66", "203.0.113.5"
	for i := range 3 {
		if code := loginFrom(t, svc, attacker, ada, "guess"); code != backend.EUNAUTHORIZED {
			t.Fatalf("guess %d = %q; want %q", i+1, code, backend.EUNAUTHORIZED)
		}
	}
	_, err := svc.Login(context.Background(), attacker, ada, adaPW)
	var th *Throttled
	if backend.ErrorCode(err) != backend.ERATELIMITED || !errors.As(err, &th) || th.RetryAfter != time.Minute {
		t.Errorf("the right password from the attacker after 3 guesses = %v; want %s caused by Throttled{1m}", err, backend.ERATELIMITED)
	}
	if code := loginFrom(t, svc, owner, ada, adaPW); code != "" {
		t.Errorf("the owner from another client during the attack = %q; want success", code)
	}
	clock.Advance(59*time.Second + time.Millisecond)
	_, err = svc.Login(context.Background(), attacker, ada, "guess")
	if !errors.As(err, &th) || th.RetryAfter != time.Second {
		t.Errorf("999ms before the window closes = %v; want Throttled{1s} (whole seconds, at least one)", err)
	}
}

func TestPasswordSprayIsLimitedPerClient(t *testing.T) {
	svc, _ := newTestService(t, WithFailureLimit(3, time.Minute), WithClientFailureLimit(10))
	const sprayer = "198.51.100.66"
	mustRegister(t, svc, ada, adaPW) // from testClient
	if code := loginFrom(t, svc, sprayer, ada, adaPW); code != "" {
		t.Fatalf("ada's login from the sprayer's address = %q; want success", code)
	}
	mustRegister(t, svc, "grace@example.com", adaPW)
	for i := range 10 {
		if code := loginFrom(t, svc, sprayer, fmt.Sprintf("user%d@example.com", i), "password"); code != backend.EUNAUTHORIZED {
			t.Fatalf("spray %d = %q; want %q", i+1, code, backend.EUNAUTHORIZED)
		}
	}
	if code := loginFrom(t, svc, sprayer, "user99@example.com", "password"); code != backend.ERATELIMITED {
		t.Errorf("spray 11 = %q; want %q", code, backend.ERATELIMITED)
	}
	if code := loginFrom(t, svc, sprayer, "grace@example.com", adaPW); code != backend.ERATELIMITED {
		t.Errorf("an email the sprayer never logged in to = %q; want %q", code, backend.ERATELIMITED)
	}
	if code := loginFrom(t, svc, sprayer, ada, adaPW); code != "" {
		t.Errorf("an email the sprayer's address logged in to before = %q; want success", code)
	}
	if code := loginFrom(t, svc, testClient, "grace@example.com", adaPW); code != "" {
		t.Errorf("grace from the address that registered her = %q; want success", code)
	}
	for i := range 3 { // the per-email limit still holds for a known pair
		loginFrom(t, svc, sprayer, ada, fmt.Sprintf("guess %d", i))
	}
	if code := loginFrom(t, svc, sprayer, ada, adaPW); code != backend.ERATELIMITED {
		t.Errorf("a known pair after 3 failures = %q; want %q", code, backend.ERATELIMITED)
	}
}

func TestWaitingAttemptsAreLetGoInTurn(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(2, time.Minute, 10, clock.Now, "from your address")
	ctx := context.Background()
	a1, _ := l.begin(ctx, "k")
	a2, _ := l.begin(ctx, "k")
	cctx, cancel := context.WithCancel(ctx)
	got := make(chan error, 3)
	start := func(ctx context.Context) {
		go func() {
			a, err := l.begin(ctx, "k")
			if err == nil {
				defer l.end(a, false)
			}
			got <- err
		}()
	}
	start(cctx)
	waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.byKey["k"].waiters) == 1 })
	start(ctx)
	waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.byKey["k"].waiters) == 2 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter = %v; want context.Canceled", err)
	}
	l.end(a1, false)
	if err := <-got; err != nil {
		t.Fatalf("second waiter after one attempt ended = %v; want its turn", err)
	}
	l.end(a2, true)
	waitFor(t, func() bool { keys, _ := l.size(); return keys == 1 })
	if keys, failing := l.size(); keys != 1 || failing != 1 {
		t.Errorf("after every attempt ended, one failed: %d keys, %d failing; want 1, 1", keys, failing)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

func TestConcurrentCorrectLoginsFromOneClientAreNotRefused(t *testing.T) {
	svc, _ := newTestService(t, WithClientFailureLimit(3))
	const n = 40
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		email := fmt.Sprintf("user%d@example.com", i)
		mustRegister(t, svc, email, adaPW)
		// from an address the account is not known for: the client limiter
		// admits three at a time, the rest wait their turn
		wg.Go(func() { codes[i] = loginFrom(t, svc, "198.51.100.7", email, adaPW) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != "" {
			t.Errorf("login %d = %q; want success", i, c)
		}
	}
}

func TestAuthenticateNeedsAnExistingUser(t *testing.T) {
	svc, _ := newTestService(t)
	u := mustRegister(t, svc, ada, adaPW)
	sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := svc.Authenticate(context.Background(), sess.Token); err != nil || c.UserID != u.ID {
		t.Fatalf("Authenticate(login token) = (%+v, %v); want user %s", c, err, u.ID)
	}
	// A store that does not hold the token's user (a database reset under
	// a kept secret), then holds its email under another id.
	other, _ := newTestService(t, WithIDs(func() string { return "u_other" }))
	if _, err := other.Authenticate(context.Background(), sess.Token); backend.ErrorCode(err) != backend.EUNAUTHORIZED {
		t.Errorf("Authenticate(a good token for a user the store does not hold) = %v; want %s", err, backend.EUNAUTHORIZED)
	}
	mustRegister(t, other, ada, adaPW)
	if _, err := other.Authenticate(context.Background(), sess.Token); backend.ErrorCode(err) != backend.EUNAUTHORIZED {
		t.Errorf("Authenticate(a token of an earlier user of the same email) = %v; want %s", err, backend.EUNAUTHORIZED)
	}
}

func TestRefresh(t *testing.T) {
	svc, _ := newTestService(t)
	mustRegister(t, svc, ada, adaPW)
	sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(context.Background(), sess.Token); backend.ErrorCode(err) != backend.EUNAUTHORIZED {
		t.Errorf("Refresh(access token) = %v; want %s", err, backend.EUNAUTHORIZED)
	}
	again, err := svc.Refresh(context.Background(), sess.RefreshToken)
	if err != nil || again.Token == "" || again.RefreshToken == "" || again.Token == sess.Token {
		t.Fatalf("Refresh(refresh token) = (%+v, %v); want a new pair", again, err)
	}
	if _, err := svc.Authenticate(context.Background(), again.Token); err != nil {
		t.Errorf("Authenticate(refreshed access token) = %v; want nil", err)
	}
}

func TestClientOf(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"203.0.113.7:5000", "203.0.113.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.7]:80", "203.0.113.7"},
		{"@", "@"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", "192.0.2.99")
		if got := ClientOf(r); got != tc.want {
			t.Errorf("ClientOf(%s) = %q; want %q", tc.remote, got, tc.want)
		}
	}
}
