//go:build linux

package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The floor is a yardstick: it must make whole journeys on a real
// PROTOCOL v1 server (the reference backend, over loopback TCP with a real
// SQLite database) and must count a journey that goes wrong as failed.
// The program imports nothing of goldenpath; its test starts the backend.

func startBackend(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: "admin-secret",
		JWTSecret: []byte("floor-test-secret-of-32-bytes!!!"), HashCost: 4, DrainTimeout: 5 * time.Second,
		Overrides: map[string]string{"think_ms": "0"},
	})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if r, err := http.Get(srv.URL() + protocol.PathReadyz); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return srv.URL()
			}
		}
	}
	t.Fatalf("the backend at %s never became ready", srv.URL())
	return ""
}

func TestFloorMakesWholeJourneys(t *testing.T) {
	url := startBackend(t)
	r, err := run(url, 4, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.ok < 4 || r.failed != 0 {
		t.Fatalf("%d journeys ended well and %d failed; want at least one per user, none failed", r.ok, r.failed)
	}
	if r.cpu <= 0 {
		t.Fatalf("CPU %v: the load's CPU was not measured", r.cpu)
	}
}

// A server that registers users but refuses every login: each journey
// fails, and the floor counts each.
func TestFloorCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/auth/register":
			w.WriteHeader(http.StatusCreated)
		case "/api/v1/auth/login":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"wrong credentials"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, err := run(srv.URL, 2, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.failed == 0 || r.ok != 0 {
		t.Fatalf("%d journeys ended well and %d failed; want every one failed", r.ok, r.failed)
	}
}

// A server that stops listening once its users are registered: every
// login's connection is refused, at once or a moment later, and the floor
// counts each journey as failed until its time is up.
func TestFloorRefusedAfterRegistering(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const users = 3
	var registered atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		if registered.Add(1) == users {
			ln.Close()
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	r, err := run("http://"+ln.Addr().String(), users, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d journeys failed", r.failed)
	if r.failed < users || r.ok != 0 {
		t.Fatalf("%d journeys ended well and %d failed; want every one failed, at least one a user", r.ok, r.failed)
	}
}

func TestFloorRefusesAnotherHost(t *testing.T) {
	if _, err := run("http://192.0.2.1:8080", 1, time.Millisecond); err == nil {
		t.Fatal("a target off loopback was taken; the floor loads IPv4 loopback only")
	}
	if _, err := run("https://127.0.0.1:8080", 1, time.Millisecond); err == nil {
		t.Fatal("an https target was taken; the floor speaks plain HTTP only")
	}
}
