package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// memStore is a map-backed backend.Store holding users only; its other
// methods are those of the nil embedded Store and panic if called. The real
// stores run end to end elsewhere.
type memStore struct {
	backend.Store
	mu    sync.Mutex
	users map[string]backend.User // by lower-cased email
}

func newMemStore() *memStore { return &memStore{users: make(map[string]backend.User)} }

func (m *memStore) CreateUser(_ context.Context, u backend.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := strings.ToLower(u.Email)
	if _, ok := m.users[key]; ok {
		return backend.Errorf(backend.ECONFLICT, "email %s is taken", u.Email)
	}
	m.users[key] = u
	return nil
}

func (m *memStore) UserByEmail(_ context.Context, email string) (backend.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[strings.ToLower(email)]
	if !ok {
		return backend.User{}, backend.Errorf(backend.ENOTFOUND, "no user %s", email)
	}
	return u, nil
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

const (
	ada   = "ada@example.com"
	adaPW = "correct horse battery"
	// testClient is the client of every login and registration that names none.
	testClient = "192.0.2.1"
)

// newTestService returns a Service on a memStore with a fake clock,
// sequential user ids and the cheapest hash cost; opts come last.
func newTestService(tb testing.TB, opts ...Option) (*Service, *fakeClock) {
	tb.Helper()
	clock := newFakeClock()
	var n atomic.Int64
	ids := func() string { return fmt.Sprintf("u_%d", n.Add(1)) }
	all := append([]Option{WithHashCost(bcrypt.MinCost), WithNow(clock.Now), WithIDs(ids)}, opts...)
	svc, err := New(newMemStore(), testSecret, all...)
	if err != nil {
		tb.Fatalf("New() = %v; want a service", err)
	}
	return svc, clock
}

// mustRegister registers a user or fails the test.
func mustRegister(tb testing.TB, svc *Service, email, password string) backend.User {
	tb.Helper()
	u, err := svc.Register(context.Background(), testClient, email, password)
	if err != nil {
		tb.Fatalf("Register(%q) = %v; want a user", email, err)
	}
	return u
}

func TestNewRejectsBadSettings(t *testing.T) {
	cases := []struct {
		name   string
		store  backend.Store
		secret []byte
		opts   []Option
		want   string // in the error
	}{
		{"no store", nil, testSecret, nil, "no store"},
		{"short secret", newMemStore(), testSecret[:31], nil, "31 bytes; use at least 32"},
		{"zero TTL", newMemStore(), testSecret, []Option{WithTTL(0)}, "TTL 0s"},
		{"cost too low", newMemStore(), testSecret, []Option{WithHashCost(bcrypt.MinCost - 1)}, "cost 3 is outside 4..31"},
		{"cost too high", newMemStore(), testSecret, []Option{WithHashCost(bcrypt.MaxCost + 1)}, "cost 32 is outside"},
		{"nil clock", newMemStore(), testSecret, []Option{WithNow(nil)}, "no clock"},
		{"nil ids", newMemStore(), testSecret, []Option{WithIDs(nil)}, "no id generator"},
		{"negative delay", newMemStore(), testSecret, []Option{WithLoginDelay(-time.Second)}, "delay -1s is negative"},
		{"zero limit", newMemStore(), testSecret, []Option{WithFailureLimit(0, time.Minute)}, "limit 0 is below 1"},
		{"zero window", newMemStore(), testSecret, []Option{WithFailureLimit(5, 0)}, "window 0s"},
		{"zero refresh TTL", newMemStore(), testSecret, []Option{WithRefreshTTL(0)}, "refresh token TTL 0s"},
		{"zero client limit", newMemStore(), testSecret, []Option{WithClientFailureLimit(0)}, "client failure limit 0 is below 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{WithHashCost(bcrypt.MinCost)}, tc.opts...)
			svc, err := New(tc.store, tc.secret, opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%s) = (%v, %v); want an error containing %q", tc.name, svc, err, tc.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	svc, err := New(newMemStore(), testSecret, WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatalf("New() = %v; want a service", err)
	}
	if svc.ttl != DefaultTTL || svc.failureLimit != DefaultFailureLimit || svc.failureWindow != DefaultFailureWindow {
		t.Errorf("New() has ttl %v, failures %d per %v; want %v, %d per %v",
			svc.ttl, svc.failureLimit, svc.failureWindow, DefaultTTL, DefaultFailureLimit, DefaultFailureWindow)
	}
	if cost, _ := bcrypt.Cost(svc.dummyHash); cost != bcrypt.MinCost {
		t.Errorf("dummy hash cost = %d; want %d, the configured cost, so unknown emails take as long", cost, bcrypt.MinCost)
	}
	u := mustRegister(t, svc, ada, adaPW)
	if !regexp.MustCompile(`^u_[0-9a-f]{24}$`).MatchString(u.ID) {
		t.Errorf("default user id = %q; want u_ and 24 hex digits", u.ID)
	}
}

func TestRegister(t *testing.T) {
	local := strings.Repeat("a", 64)
	domain := func(n int) string { return strings.Repeat("d", n-len(local)-len("@.com")) + ".com" }
	cases := []struct {
		email, password string
		wantCode        string // "" for success
		want            string // the stored email, or a part of the error message
	}{
		{" Ada@Example.COM ", adaPW, "", ada},
		{"grace@localhost", "12345678", "", "grace@localhost"},
		{"unicode@example.com", "pässwörd", "", "unicode@example.com"}, // 8 characters, 10 bytes
		{"max@example.com", strings.Repeat("p", 72), "", "max@example.com"},
		{local + "@" + domain(254), adaPW, "", local + "@" + domain(254)},
		{"", adaPW, backend.EINVALID, "email is required"},
		{"   ", adaPW, backend.EINVALID, "email is required"},
		{"ada", adaPW, backend.EINVALID, "does not look like an address"},
		{"@example.com", adaPW, backend.EINVALID, "does not look like an address"},
		{"ada@", adaPW, backend.EINVALID, "does not look like an address"},
		{"ada@b@example.com", adaPW, backend.EINVALID, "one @"},
		{"ada lovelace@example.com", adaPW, backend.EINVALID, "no spaces"},
		{"ada\x00@example.com", adaPW, backend.EINVALID, "does not look like an address"},
		{local + "@" + domain(255), adaPW, backend.EINVALID, "longer than 254 bytes"},
		{"short@example.com", "", backend.EINVALID, "shorter than 8 characters"},
		{"short@example.com", "1234567", backend.EINVALID, "shorter than 8 characters"},
		{"long@example.com", strings.Repeat("p", 73), backend.EINVALID, "longer than 72 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.email, func(t *testing.T) {
			svc, _ := newTestService(t)
			u, err := svc.Register(context.Background(), testClient, tc.email, tc.password)
			if tc.wantCode == "" {
				if err != nil || u.Email != tc.want || u.ID == "" || u.PasswordHash != nil {
					t.Fatalf("Register(%q, %q) = (%+v, %v); want user %s with an id and no hash", tc.email, tc.password, u, err, tc.want)
				}
				return
			}
			if code := backend.ErrorCode(err); code != tc.wantCode || !strings.Contains(backend.ErrorMessage(err), tc.want) {
				t.Fatalf("Register(%q, %q) = %v; want %s mentioning %q", tc.email, tc.password, err, tc.wantCode, tc.want)
			}
		})
	}
}

func TestRegisterDuplicateIsConflict(t *testing.T) {
	svc, _ := newTestService(t)
	mustRegister(t, svc, ada, adaPW)
	_, err := svc.Register(context.Background(), testClient, "  ADA@example.com", "another password")
	if code := backend.ErrorCode(err); code != backend.ECONFLICT {
		t.Fatalf("Register(taken email) = %v; want %s from the store", err, backend.ECONFLICT)
	}
}

func TestLogin(t *testing.T) {
	cases := []struct {
		name, email, password string
		wantCode              string // "" for success
		wantMsg               string
	}{
		{"ok", ada, adaPW, "", ""},
		{"email in another case and padded", " ADA@Example.com\t", adaPW, "", ""},
		{"wrong password", ada, "wrong password", backend.EUNAUTHORIZED, msgWrongCredentials},
		{"password in another case", ada, strings.ToUpper(adaPW), backend.EUNAUTHORIZED, msgWrongCredentials},
		{"unknown email", "nobody@example.com", adaPW, backend.EUNAUTHORIZED, msgWrongCredentials},
		{"malformed email", "nobody", adaPW, backend.EUNAUTHORIZED, msgWrongCredentials},
		{"missing email", "", adaPW, backend.EINVALID, "required"},
		{"missing password", ada, "", backend.EINVALID, "required"},
		{"password over 72 bytes", ada, strings.Repeat("p", 73), backend.EINVALID, "72 bytes"},
		{"email over 254 bytes", strings.Repeat("a", 250) + "@x.com", adaPW, backend.EINVALID, "254 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, clock := newTestService(t)
			user := mustRegister(t, svc, ada, adaPW)
			sess, err := svc.Login(context.Background(), testClient, tc.email, tc.password)
			if tc.wantCode != "" {
				if backend.ErrorCode(err) != tc.wantCode || !strings.Contains(backend.ErrorMessage(err), tc.wantMsg) {
					t.Fatalf("Login(%q, %q) = %v; want %s %q", tc.email, tc.password, err, tc.wantCode, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login(%q, %q) = %v; want a session", tc.email, tc.password, err)
			}
			if sess.User.ID != user.ID || sess.User.Email != ada || sess.User.PasswordHash != nil || sess.ExpiresIn != DefaultTTL {
				t.Errorf("Login() = user %+v expiring in %v; want %s (%s) without hash, expiring in %v",
					sess.User, sess.ExpiresIn, user.ID, ada, DefaultTTL)
			}
			claims, err := svc.Verify(sess.Token)
			if err != nil || claims.UserID != user.ID || !claims.ExpiresAt.Equal(clock.Now().Add(DefaultTTL)) {
				t.Errorf("Verify(login token) = (%+v, %v); want user %s expiring at %v", claims, err, user.ID, clock.Now().Add(DefaultTTL))
			}
		})
	}
}

// loginCode logs in and returns the error code, "" on success.
func loginCode(t *testing.T, svc *Service, email, password string) string {
	t.Helper()
	_, err := svc.Login(context.Background(), testClient, email, password)
	return backend.ErrorCode(err)
}

func TestLoginRateLimit(t *testing.T) {
	const limit, window = 3, time.Minute
	for _, email := range []string{ada, "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			svc, clock := newTestService(t, WithFailureLimit(limit, window))
			mustRegister(t, svc, ada, adaPW)
			mustRegister(t, svc, "grace@example.com", adaPW)
			for i := 1; i <= limit; i++ {
				if code := loginCode(t, svc, email, "wrong password"); code != backend.EUNAUTHORIZED {
					t.Fatalf("failed login %d of %d = %q; want %q", i, limit, code, backend.EUNAUTHORIZED)
				}
				clock.Advance(time.Second)
			}
			_, err := svc.Login(context.Background(), testClient, email, "wrong password")
			if backend.ErrorCode(err) != backend.ERATELIMITED || !strings.Contains(backend.ErrorMessage(err), "try again in 57s") {
				t.Fatalf("login after %d failures = %v; want %s, try again in 57s", limit, err, backend.ERATELIMITED)
			}
			if code := loginCode(t, svc, email, adaPW); code != backend.ERATELIMITED {
				t.Errorf("right password while limited = %q; want %q (no guessing through the limit)", code, backend.ERATELIMITED)
			}
			if code := loginCode(t, svc, "grace@example.com", adaPW); code != "" {
				t.Errorf("another email's login while %s is limited = %q; want success", email, code)
			}
			clock.Advance(window - limit*time.Second - time.Nanosecond)
			if code := loginCode(t, svc, email, "wrong password"); code != backend.ERATELIMITED {
				t.Errorf("login 1ns before the window closes = %q; want %q", code, backend.ERATELIMITED)
			}
			clock.Advance(time.Nanosecond)
			if code := loginCode(t, svc, email, "wrong password"); code != backend.EUNAUTHORIZED {
				t.Errorf("login once the window closed = %q; want %q", code, backend.EUNAUTHORIZED)
			}
		})
	}
}

func TestSuccessfulLoginsNeverCount(t *testing.T) {
	const limit = 3
	svc, _ := newTestService(t, WithFailureLimit(limit, time.Minute))
	mustRegister(t, svc, ada, adaPW)
	for i := range limit - 1 {
		if code := loginCode(t, svc, ada, "wrong password"); code != backend.EUNAUTHORIZED {
			t.Fatalf("failed login %d = %q; want %q", i+1, code, backend.EUNAUTHORIZED)
		}
	}
	for i := range 50 {
		if code := loginCode(t, svc, ada, adaPW); code != "" {
			t.Fatalf("successful login %d after %d failures = %q; want success", i+1, limit-1, code)
		}
	}
	// Concurrent logins beyond the limit wait for each other; none is refused.
	var wg sync.WaitGroup
	codes := make([]string, 4*limit)
	for i := range codes {
		wg.Go(func() {
			_, err := svc.Login(context.Background(), testClient, ada, adaPW)
			codes[i] = backend.ErrorCode(err)
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != "" {
			t.Errorf("concurrent successful login %d = %q; want success", i, code)
		}
	}
	// Successes neither counted nor cleared the earlier failures.
	if code := loginCode(t, svc, ada, "wrong password"); code != backend.EUNAUTHORIZED {
		t.Fatalf("failure %d = %q; want %q", limit, code, backend.EUNAUTHORIZED)
	}
	if code := loginCode(t, svc, ada, adaPW); code != backend.ERATELIMITED {
		t.Fatalf("login after %d failures = %q; want %q", limit, code, backend.ERATELIMITED)
	}
}

func TestConcurrentGuessesGetNoExtraTries(t *testing.T) {
	const limit, guesses = 3, 20
	svc, _ := newTestService(t, WithFailureLimit(limit, time.Minute))
	mustRegister(t, svc, ada, adaPW)
	var wg sync.WaitGroup
	codes := make([]string, guesses)
	for i := range codes {
		wg.Go(func() { codes[i] = loginCode(t, svc, ada, fmt.Sprintf("guess %d", i)) })
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[backend.EUNAUTHORIZED] != limit || count[backend.ERATELIMITED] != guesses-limit {
		t.Fatalf("%d concurrent guesses with limit %d got %v; want %d %s and %d %s",
			guesses, limit, count, limit, backend.EUNAUTHORIZED, guesses-limit, backend.ERATELIMITED)
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(2, time.Minute, 3, clock.Now, "for this email")
	fail := func(email string) {
		a, err := l.begin(context.Background(), email)
		if err != nil {
			t.Fatalf("begin(%s) = %v; want an attempt", email, err)
		}
		l.end(a, true)
	}
	for i := range 5 {
		fail(fmt.Sprintf("user%d@example.com", i))
		clock.Advance(time.Second)
	}
	if emails, failing := l.size(); emails != 3 || failing != 3 {
		t.Fatalf("after 5 emails failed with room for 3, limiter holds %d emails, %d failing; want 3, 3", emails, failing)
	}
	if _, ok := l.byKey["user0@example.com"]; ok {
		t.Errorf("limiter still holds the oldest email at its bound; want it evicted")
	}
	a, _ := l.begin(context.Background(), "ok@example.com")
	l.end(a, false)
	if emails, _ := l.size(); emails != 3 {
		t.Errorf("after a success, limiter holds %d emails; want 3 (successes leave nothing behind)", emails)
	}
	clock.Advance(time.Minute)
	a, _ = l.begin(context.Background(), "ok@example.com")
	l.end(a, false)
	if emails, failing := l.size(); emails != 0 || failing != 0 {
		t.Errorf("after the windows closed, limiter holds %d emails, %d failing; want 0, 0", emails, failing)
	}
}

func TestLoginDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, err := New(newMemStore(), testSecret, WithHashCost(bcrypt.MinCost), WithLoginDelay(2*time.Second))
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		mustRegister(t, svc, ada, adaPW)
		start := time.Now()
		if _, err := svc.Login(t.Context(), testClient, ada, adaPW); err != nil || time.Since(start) != 2*time.Second {
			t.Errorf("Login() with a 2s delay = %v after %v; want success after 2s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = time.Now()
		if _, err := svc.Login(ctx, testClient, ada, adaPW); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Login() with a 2s delay and a 1s deadline = %v after %v; want the deadline after 1s", err, time.Since(start))
		}
	})
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	svc, _ := newTestService(t)
	mustRegister(t, svc, ada, adaPW)
	sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
	if err != nil {
		t.Fatalf("Login() = %v", err)
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("login", "password", Secret(adaPW), "session", sess, "token", Secret(sess.Token))
	fmt.Fprintf(&buf, "%v %s %q %#v %x %+v", Secret(adaPW), Secret(adaPW), Secret(adaPW), Secret(adaPW), Secret(adaPW),
		struct{ P Secret }{Secret(adaPW)})
	out := buf.String()
	if strings.Contains(out, adaPW) || strings.Contains(out, sess.Token) || strings.Contains(out, fmt.Sprintf("%x", adaPW)) {
		t.Errorf("log output %s contains the password or token; want them redacted", out)
	}
	if !strings.Contains(out, `"password":"REDACTED"`) || !strings.Contains(out, `"user_id":"`+sess.User.ID+`"`) {
		t.Errorf("log output %s; want the password REDACTED and the session's user id", out)
	}
}
