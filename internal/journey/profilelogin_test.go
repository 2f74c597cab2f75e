package journey_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

func mustProfile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The goldenpath profile logs in on the reference backend as the built-in
// journey does.
func TestProfileLoginOnTheReferenceBackend(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "", nil)
	acct := b.account(t)
	want, err := journey.Login(context.Background(), b.target, acct)
	if err != nil {
		t.Fatal(err)
	}
	s, e := journey.ProfileLogin(context.Background(), b.target, mustProfile(t, "goldenpath"), acct, "", "")
	if e != nil || s.UserID != want.UserID || s.Token == "" {
		t.Errorf("ProfileLogin = %+v, %v; want user %s and a token", s, e, want.UserID)
	}
	acct.Password = "wrong-" + acct.Password
	if _, e := journey.ProfileLogin(context.Background(), b.target, mustProfile(t, "goldenpath"), acct, "", ""); e == nil || e.Kind != journey.FailHTTPStatus || e.Status != http.StatusUnauthorized {
		t.Errorf("ProfileLogin with a wrong password = %v; want http_status 401", e)
	}
}

// netra: the bypass call goes to the auth service's own origin with the
// key in its header, and the user id is read at user.id.
func TestProfileLoginNetraBypass(t *testing.T) {
	t.Parallel()
	var body map[string]any
	noUser := false
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/e2e/test-auth" || r.Header.Get("X-E2E-Bypass-Key") != "k-123" {
			http.Error(w, `{"detail":"Invalid key"}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		user := `,"user":{"id":"e2e-alice-7","email":"alice-7@example.com"}`
		if noUser {
			user = ""
		}
		w.Write([]byte(`{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","refresh_token":"r","token_type":"Bearer"` + user + `}`))
	}))
	defer auth.Close()
	backendURL, _ := journey.NewTarget("http://127.0.0.1:1") // the backend is not called: auth has its own origin
	p := mustProfile(t, "netra")
	acct := journey.Account{Email: "alice-7@example.com", Password: "unused-here"}
	s, e := journey.ProfileLogin(context.Background(), backendURL, p, acct, auth.URL, "k-123")
	if e != nil || s.UserID != "e2e-alice-7" || !strings.HasPrefix(s.Token, "eyJ") {
		t.Fatalf("ProfileLogin = %+v, %v; want user e2e-alice-7 and the access token", s, e)
	}
	if body["email"] != "alice-7@example.com" || body["name"] != "alice-7" || body["simulate_oauth"] != true {
		t.Errorf("bypass body = %v; want the account's email, its local part as name, simulate_oauth", body)
	}
	if _, e := journey.ProfileLogin(context.Background(), backendURL, p, acct, auth.URL, "wrong"); e == nil || e.Status != http.StatusUnauthorized {
		t.Errorf("a wrong bypass key: %v; want http_status 401", e)
	}
	noUser = true
	if _, e := journey.ProfileLogin(context.Background(), backendURL, p, acct, auth.URL, "k-123"); e == nil || e.Kind != journey.FailProtocol ||
		!strings.Contains(e.Message, `no user id at "user.id" (profile netra, auth.user_id)`) || strings.Contains(e.Sample, "eyJhbGciOiJIUzI1NiJ9.e30.sig") {
		t.Errorf("a reply without user.id: %v (sample %q); want a protocol error naming the path, the token redacted", e, e.Sample)
	}
}
