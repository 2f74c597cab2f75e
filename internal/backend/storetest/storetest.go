// Package storetest is the conformance suite that every [backend.Store]
// implementation passes, in the manner of testing/fstest and
// testing/slogtest.
//
// An implementation's test calls [Run] with a function that opens a new,
// empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) backend.Store {
//			s, err := mystore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite checks what the [backend.Store] documentation promises, and a
// few things it implies: error codes, case-insensitive emails, ownership,
// atomic runs, messages in commit order, no lost or duplicated write under
// concurrent writers, context cancellation, and that a closed store refuses
// work rather than hang.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// Run runs the conformance suite as subtests of t. It calls open for a new,
// empty store for every subtest and table case (open may fail the test it
// is given), and closes every store it opens exactly once, reporting an
// error if Close fails; open must not close the store itself.
//
// Beyond the [backend.Store] documentation, the suite requires that a
// method called with a canceled context returns an error wrapping
// [context.Canceled] and writes nothing, and that a closed store refuses
// every call with an error instead of blocking.
func Run(t *testing.T, open func(t *testing.T) backend.Store) {
	// fresh opens a store that is closed when the test that opened it ends.
	fresh := func(t *testing.T) backend.Store {
		t.Helper()
		s := open(t)
		if s == nil {
			t.Fatal("open returned a nil store")
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v; want nil", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		run  func(t *testing.T, fresh func(*testing.T) backend.Store)
	}{
		{"Users", testUsers},
		{"DuplicateEmail", testDuplicateEmail},
		{"Threads", testThreads},
		{"StartRun", testStartRun},
		{"AppendMessage", testAppendMessage},
		{"MessagesOrder", testMessagesOrder},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Canceled", testCanceled},
		{"Ping", testPing},
		// Close closes the store itself.
		{"Close", func(t *testing.T, _ func(*testing.T) backend.Store) { testClose(t, open(t)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh) })
	}
}

// t0 is the suite's reference instant: nanoseconds, and not in UTC, so that
// a store that drops either is caught.
var t0 = time.Date(2025, 3, 1, 12, 30, 45, 123456789, time.FixedZone("UTC+1", 3600))

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// codeText names a code for messages; the empty code is success.
func codeText(code string) string {
	if code == "" {
		return "nil"
	}
	return "code " + code
}

// checkCode reports an error unless err has the code want ("" for nil).
func checkCode(t *testing.T, call string, err error, want string) {
	t.Helper()
	if got := backend.ErrorCode(err); got != want {
		t.Errorf("%s = %v; want %s", call, err, codeText(want))
	}
}

// fixture wraps a store with helpers that fail the test on error.
type fixture struct {
	t   *testing.T
	s   backend.Store
	ctx context.Context
}

func newFixture(t *testing.T, s backend.Store) *fixture {
	return &fixture{t: t, s: s, ctx: t.Context()}
}

func (f *fixture) user(id, email string) backend.User {
	f.t.Helper()
	u := backend.User{ID: id, Email: email, PasswordHash: []byte("hash of " + id), CreatedAt: t0}
	if err := f.s.CreateUser(f.ctx, u); err != nil {
		f.t.Fatalf("CreateUser(%q) = %v; want nil", email, err)
	}
	return u
}

func (f *fixture) thread(id, userID string, created time.Time) backend.Thread {
	f.t.Helper()
	th := backend.Thread{ID: id, UserID: userID, Title: "title of " + id, CreatedAt: created}
	if err := f.s.CreateThread(f.ctx, th); err != nil {
		f.t.Fatalf("CreateThread(%q) = %v; want nil", id, err)
	}
	return th
}

// message returns a message of thread th by user, not stored.
func message(id string, th backend.Thread, userID, role string) backend.Message {
	return backend.Message{
		ID: id, ThreadID: th.ID, UserID: userID, Role: role,
		Content: "content of " + id, MessageID: "client-" + id, CreatedAt: t0,
	}
}

func (f *fixture) append(m backend.Message) backend.Message {
	f.t.Helper()
	if err := f.s.AppendMessage(f.ctx, m); err != nil {
		f.t.Fatalf("AppendMessage(%q) = %v; want nil", m.ID, err)
	}
	return m
}

// checkMessages reports an error unless userID's thread holds exactly
// want, in order.
func (f *fixture) checkMessages(userID, threadID string, want []backend.Message) {
	f.t.Helper()
	got, err := f.s.Messages(f.ctx, userID, threadID)
	if err != nil {
		f.t.Errorf("Messages(%q, %q) = %v; want nil", userID, threadID, err)
		return
	}
	if d := diffMessages(got, want); d != "" {
		f.t.Errorf("Messages(%q, %q): %s", userID, threadID, d)
	}
}

// checkThreads reports an error unless userID's threads are exactly want,
// in order.
func (f *fixture) checkThreads(userID string, want []backend.Thread) {
	f.t.Helper()
	got, err := f.s.Threads(f.ctx, userID)
	if err != nil {
		f.t.Errorf("Threads(%q) = %v; want nil", userID, err)
		return
	}
	if d := diffThreads(got, want); d != "" {
		f.t.Errorf("Threads(%q): %s", userID, d)
	}
}

// diffMessages describes the first difference between two message lists,
// or returns "".
func diffMessages(got, want []backend.Message) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.ThreadID != w.ThreadID || g.UserID != w.UserID || g.Role != w.Role ||
			g.Content != w.Content || g.MessageID != w.MessageID || !g.CreatedAt.Equal(w.CreatedAt) {
			return fmt.Sprintf("message %d = %+v; want %+v", i, g, w)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d messages %v; want %d %v", len(got), messageIDs(got), len(want), messageIDs(want))
	}
	return ""
}

func diffThreads(got, want []backend.Thread) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.UserID != w.UserID || g.Title != w.Title || !g.CreatedAt.Equal(w.CreatedAt) {
			return fmt.Sprintf("thread %d = %+v; want %+v", i, g, w)
		}
	}
	if len(got) != len(want) {
		ids := func(ts []backend.Thread) []string {
			var s []string
			for _, t := range ts {
				s = append(s, t.ID)
			}
			return s
		}
		return fmt.Sprintf("%d threads %v; want %d %v", len(got), ids(got), len(want), ids(want))
	}
	return ""
}

func messageIDs(ms []backend.Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.ID)
	}
	return s
}

func testUsers(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	alice := f.user("u-alice", "Alice@Example.COM")
	f.user("u-emile", "ÉMILE@example.com")

	tests := []struct {
		email    string
		wantID   string
		wantCode string
	}{
		{"alice@example.com", "u-alice", ""},
		{"ALICE@EXAMPLE.COM", "u-alice", ""},
		{"Alice@Example.COM", "u-alice", ""},
		{"émile@EXAMPLE.com", "u-emile", ""},
		{"Émile@example.com", "u-emile", ""},
		{"bob@example.com", "", backend.ENOTFOUND},
		{"alice@example.co", "", backend.ENOTFOUND},
		{"", "", backend.ENOTFOUND},
	}
	for _, tt := range tests {
		u, err := s.UserByEmail(f.ctx, tt.email)
		call := fmt.Sprintf("UserByEmail(%q)", tt.email)
		checkCode(t, call, err, tt.wantCode)
		if err != nil || tt.wantCode != "" {
			continue
		}
		if u.ID != tt.wantID {
			t.Errorf("%s.ID = %q; want %q", call, u.ID, tt.wantID)
		}
		if want := strings.ToLower(u.Email); u.Email != want {
			t.Errorf("%s.Email = %q; want it stored lower-cased, %q", call, u.Email, want)
		}
		if tt.wantID != alice.ID {
			continue
		}
		if u.Email != "alice@example.com" {
			t.Errorf("%s.Email = %q; want %q", call, u.Email, "alice@example.com")
		}
		if !bytes.Equal(u.PasswordHash, alice.PasswordHash) {
			t.Errorf("%s.PasswordHash = %q; want %q", call, u.PasswordHash, alice.PasswordHash)
		}
		if !u.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("%s.CreatedAt = %v; want %v", call, u.CreatedAt, alice.CreatedAt)
		}
	}
}

func testDuplicateEmail(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	f.user("u-alice", "alice@example.com")
	f.user("u-emile", "émile@example.com")

	for _, email := range []string{"alice@example.com", "ALICE@example.com", "Alice@Example.Com", "ÉMILE@EXAMPLE.COM"} {
		u := backend.User{ID: "u-other", Email: email, PasswordHash: []byte("other"), CreatedAt: t0}
		checkCode(t, fmt.Sprintf("CreateUser(dup email %q)", email), s.CreateUser(f.ctx, u), backend.ECONFLICT)
	}
	// The refused users wrote nothing: the first owner keeps the email,
	// and the refused id is free for another email.
	if u, err := s.UserByEmail(f.ctx, "alice@example.com"); err != nil || u.ID != "u-alice" {
		t.Errorf("UserByEmail(alice) after conflicts = (%q, %v); want (%q, nil)", u.ID, err, "u-alice")
	}
	f.user("u-other", "other@example.com")
}

func testThreads(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	alice := f.user("u-alice", "alice@example.com")
	bob := f.user("u-bob", "bob@example.com")
	f.user("u-carol", "carol@example.com")

	// Created out of age order: the list is oldest first all the same.
	second := f.thread("t-second", alice.ID, at(2*time.Second))
	first := f.thread("t-first", alice.ID, at(time.Second))
	bobs := f.thread("t-bob", bob.ID, at(0))
	third := f.thread("t-third", alice.ID, at(3*time.Second))

	f.checkThreads(alice.ID, []backend.Thread{first, second, third})
	f.checkThreads(bob.ID, []backend.Thread{bobs})
	f.checkThreads("u-carol", nil)
	f.checkThreads("u-nobody", nil)

	tests := []struct {
		user, thread string
		want         backend.Thread
		wantCode     string
	}{
		{alice.ID, first.ID, first, ""},
		{alice.ID, third.ID, third, ""},
		{bob.ID, bobs.ID, bobs, ""},
		{bob.ID, first.ID, backend.Thread{}, backend.ENOTFOUND},
		{alice.ID, bobs.ID, backend.Thread{}, backend.ENOTFOUND},
		{"u-carol", first.ID, backend.Thread{}, backend.ENOTFOUND},
		{alice.ID, "t-missing", backend.Thread{}, backend.ENOTFOUND},
		{alice.ID, "", backend.Thread{}, backend.ENOTFOUND},
	}
	for _, tt := range tests {
		got, err := s.Thread(f.ctx, tt.user, tt.thread)
		call := fmt.Sprintf("Thread(%q, %q)", tt.user, tt.thread)
		checkCode(t, call, err, tt.wantCode)
		if err == nil && tt.wantCode == "" {
			if d := diffThreads([]backend.Thread{got}, []backend.Thread{tt.want}); d != "" {
				t.Errorf("%s: %s", call, d)
			}
		}
	}
}
