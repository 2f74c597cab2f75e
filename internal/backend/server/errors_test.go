package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Probe finding (issue 13, part 5): error texts leaked the store's
// "sqlite:" prefix.

// TestErrorsShowNoInternals: error replies, over HTTP and the socket, say
// what went wrong without the store's internals (no "sqlite:" prefix, no
// SQL).
func TestErrorsShowNoInternals(t *testing.T) {
	h := start(t)
	u := h.newUser()
	leaks := func(what string, body []byte) {
		t.Helper()
		for _, s := range []string{"sqlite", "SQL", "postgres", "store:", "modernc"} {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("%s: reply %s carries %q", what, body, s)
			}
		}
	}
	r := h.do("POST", protocol.PathRegister, "", protocol.Credentials{Email: u.email, Password: "password-2"})
	if r.code != http.StatusConflict {
		t.Fatalf("register a taken email = %d; want 409", r.code)
	}
	leaks("register a taken email", r.body)
	r = h.do("GET", protocol.PathThreads+"/t_nonexistent/messages", u.token, nil)
	if r.code != http.StatusNotFound {
		t.Fatalf("messages of an unknown thread = %d; want 404", r.code)
	}
	leaks("messages of an unknown thread", r.body)
	c := h.dial(u)
	evs := c.run("into the void", "t_nonexistent")
	leaks("a run in an unknown thread", evs[len(evs)-1].raw)
}
