package server_test

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Probe finding (issue 13, part 5): 200 bad logins for one email locked its
// real owner out.

// clientFrom returns an HTTP client whose connections leave from ip, a
// loopback address other than 127.0.0.1: another client, as the server
// sees it.
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// doWith sends a request through hc and returns the reply.
func (h *harness) doWith(hc *http.Client, method, path, token string, body any) reply {
	h.t.Helper()
	saved := h.hc
	h.hc = hc
	defer func() { h.hc = saved }()
	return h.do(method, path, token, body)
}

// login tries email and password through hc.
func (h *harness) loginWith(hc *http.Client, email, password string) reply {
	h.t.Helper()
	return h.doWith(hc, "POST", protocol.PathLogin, "", protocol.Credentials{Email: email, Password: password})
}

// TestBadLoginsDoNotLockOutTheOwner: 200 wrong passwords for one email
// from one client throttle that client (429 with Retry-After), while the
// account's owner, from another address, logs in with the right password;
// and the attacker's failures do not throttle the correct logins of other
// accounts from the attacker's own address either.
func TestBadLoginsDoNotLockOutTheOwner(t *testing.T) {
	h := start(t)
	victim, bystander := h.newUser(), h.newUser()
	attacker := clientFrom(t, "127.0.0.1")
	owner := clientFrom(t, "127.0.0.2")

	var unauthorized, limited, noRetryAfter int
	for i := range 200 {
		r := h.loginWith(attacker, victim.email, "guess-"+strconv.Itoa(i))
		switch r.code {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusTooManyRequests:
			limited++
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
				noRetryAfter++
			}
		default:
			t.Fatalf("bad login %d = %d %.200s; want 401 or 429", i+1, r.code, r.body)
		}
	}
	if noRetryAfter > 0 {
		t.Errorf("%d of %d replies 429 lack a Retry-After of whole seconds in 1..60", noRetryAfter, limited)
	}
	if unauthorized > 5 || limited < 195 {
		t.Errorf("200 bad logins from one client = %d x 401, %d x 429; want at most 5 checked, the rest 429", unauthorized, limited)
	}
	if r := h.loginWith(attacker, victim.email, victim.password); r.code != http.StatusTooManyRequests {
		t.Errorf("the right password from the throttled client = %d; want 429 (no guessing through the limit)", r.code)
	}
	if r := h.loginWith(owner, victim.email, victim.password); r.code != http.StatusOK {
		t.Errorf("the owner's login from another address during the attack = %d %.200s; want 200", r.code, r.body)
	}
	if r := h.loginWith(attacker, bystander.email, bystander.password); r.code != http.StatusOK {
		t.Errorf("another account's correct login from the attacker's address = %d %.200s; want 200", r.code, r.body)
	}
}

// TestPasswordSprayIsThrottledPerClient: one client guessing across many
// accounts is throttled as a whole, while the accounts it registered or
// logged in to keep logging in from it, and other clients are unaffected.
func TestPasswordSprayIsThrottledPerClient(t *testing.T) {
	h := start(t)
	known := h.newUser() // registered and logged in from 127.0.0.1
	other := clientFrom(t, "127.0.0.3")
	stranger := h.newUser()
	sprayer := clientFrom(t, "127.0.0.1")
	var codes []int
	for i := range 150 {
		codes = append(codes, h.loginWith(sprayer, "spray-"+strconv.Itoa(i)+"@example.test", "password-1").code)
	}
	first429 := -1
	for i, c := range codes {
		if c == http.StatusTooManyRequests && first429 < 0 {
			first429 = i
		}
	}
	if first429 < 0 || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("150 failed logins on 150 accounts from one client: first 429 at %d, last %d; want the client throttled", first429, codes[len(codes)-1])
	}
	if r := h.loginWith(sprayer, known.email, known.password); r.code != http.StatusOK {
		t.Errorf("an account known to the throttled client = %d %.200s; want 200", r.code, r.body)
	}
	if r := h.loginWith(other, stranger.email, stranger.password); r.code != http.StatusOK {
		t.Errorf("a login from another client = %d %.200s; want 200", r.code, r.body)
	}
}
