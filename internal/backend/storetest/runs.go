package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// world is the state the run tests start from: alice owns thread t-alice
// holding message m0, bob owns the empty thread t-bob, and t-new is a thread
// of alice's that is not stored yet.
type world struct {
	alice, bob         backend.User
	aliceT, bobT, newT backend.Thread
	m0                 backend.Message
}

func newWorld(f *fixture) world {
	var w world
	w.alice = f.user("u-alice", "alice@example.com")
	w.bob = f.user("u-bob", "bob@example.com")
	w.aliceT = f.thread("t-alice", w.alice.ID, at(time.Second))
	w.bobT = f.thread("t-bob", w.bob.ID, at(time.Second))
	w.m0 = f.append(message("m0", w.aliceT, w.alice.ID, backend.RoleUser))
	w.newT = backend.Thread{ID: "t-new", UserID: w.alice.ID, Title: "a new thread", CreatedAt: at(2 * time.Second)}
	return w
}

// byAlice and byBob return a user message of thread th, not stored.
func (w world) byAlice(id string, th backend.Thread) backend.Message {
	return message(id, th, w.alice.ID, backend.RoleUser)
}

func (w world) byBob(id string, th backend.Thread) backend.Message {
	return message(id, th, w.bob.ID, backend.RoleUser)
}

// holds is a thread and the messages it must hold, in order.
type holds struct {
	th   backend.Thread
	msgs []backend.Message
}

// writeCase is one write against a fresh world, and the state it must
// leave: alice's threads, and the messages of the threads it names.
type writeCase struct {
	name     string
	call     func(s backend.Store, f *fixture, w world) error
	wantCode string // "" for nil, anyError for any error
	want     func(w world) (aliceThreads []backend.Thread, msgs []holds)
}

// anyError is a wantCode that accepts any non-nil error: the outcome is
// refused, but the Store documentation names no code for it.
const anyError = "any error"

// unchanged is the state of a world that a refused write left alone.
func unchanged(w world) ([]backend.Thread, []holds) {
	return []backend.Thread{w.aliceT}, []holds{{w.aliceT, []backend.Message{w.m0}}, {w.bobT, nil}}
}

// runWriteCases runs each case in a subtest on a fresh store.
func runWriteCases(t *testing.T, fresh func(*testing.T) backend.Store, method string, cases []writeCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			f := newFixture(t, s)
			w := newWorld(f)
			err := tc.call(s, f, w)
			call := fmt.Sprintf("%s(%s)", method, tc.name)
			if tc.wantCode == anyError {
				if err == nil {
					t.Errorf("%s = nil; want an error", call)
				}
			} else {
				checkCode(t, call, err, tc.wantCode)
			}
			threads, msgs := tc.want(w)
			f.checkThreads(w.alice.ID, threads)
			f.checkThreads(w.bob.ID, []backend.Thread{w.bobT})
			for _, h := range msgs {
				f.checkMessages(h.th.UserID, h.th.ID, h.msgs)
			}
		})
	}
}

func testStartRun(t *testing.T, fresh func(*testing.T) backend.Store) {
	runWriteCases(t, fresh, "StartRun", []writeCase{{
		name: "create=true new thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.StartRun(f.ctx, w.newT, true, w.byAlice("m1", w.newT))
		},
		want: func(w world) ([]backend.Thread, []holds) {
			return []backend.Thread{w.aliceT, w.newT},
				[]holds{{w.aliceT, []backend.Message{w.m0}}, {w.newT, []backend.Message{w.byAlice("m1", w.newT)}}}
		},
	}, {
		name: "create=false own thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.StartRun(f.ctx, w.aliceT, false, w.byAlice("m1", w.aliceT))
		},
		want: func(w world) ([]backend.Thread, []holds) {
			return []backend.Thread{w.aliceT}, []holds{{w.aliceT, []backend.Message{w.m0, w.byAlice("m1", w.aliceT)}}}
		},
	}, {
		name: "create=false zero thread argument",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.StartRun(f.ctx, backend.Thread{}, false, w.byAlice("m1", w.aliceT))
		},
		want: func(w world) ([]backend.Thread, []holds) {
			return []backend.Thread{w.aliceT}, []holds{{w.aliceT, []backend.Message{w.m0, w.byAlice("m1", w.aliceT)}}}
		},
	}, {
		name: "create=false other user's thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.StartRun(f.ctx, w.aliceT, false, w.byBob("m1", w.aliceT))
		},
		wantCode: backend.ENOTFOUND,
		want:     unchanged,
	}, {
		name: "create=false missing thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.StartRun(f.ctx, backend.Thread{}, false, w.byAlice("m1", w.newT))
		},
		wantCode: backend.ENOTFOUND,
		want:     unchanged,
	}, {
		// The thread insert succeeds and the message insert fails: one
		// transaction means the thread is not kept either.
		name: "create=true taken message id",
		call: func(s backend.Store, f *fixture, w world) error {
			m := w.byAlice("m0", w.newT)
			m.Content = "not the first m0"
			return s.StartRun(f.ctx, w.newT, true, m)
		},
		wantCode: anyError,
		want:     unchanged,
	}, {
		name: "create=true taken thread id",
		call: func(s backend.Store, f *fixture, w world) error {
			th := w.aliceT
			th.Title = "not the first t-alice"
			return s.StartRun(f.ctx, th, true, w.byAlice("m1", th))
		},
		wantCode: anyError,
		want:     unchanged,
	}, {
		name: "create=true thread id taken by other user",
		call: func(s backend.Store, f *fixture, w world) error {
			th := backend.Thread{ID: w.bobT.ID, UserID: w.alice.ID, Title: "alice's?", CreatedAt: t0}
			return s.StartRun(f.ctx, th, true, w.byAlice("m1", th))
		},
		wantCode: anyError,
		want:     unchanged,
	}})
}

func testAppendMessage(t *testing.T, fresh func(*testing.T) backend.Store) {
	runWriteCases(t, fresh, "AppendMessage", []writeCase{{
		name: "own thread assistant",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.AppendMessage(f.ctx, message("m1", w.aliceT, w.alice.ID, backend.RoleAssistant))
		},
		want: func(w world) ([]backend.Thread, []holds) {
			m1 := message("m1", w.aliceT, w.alice.ID, backend.RoleAssistant)
			return []backend.Thread{w.aliceT}, []holds{{w.aliceT, []backend.Message{w.m0, m1}}, {w.bobT, nil}}
		},
	}, {
		name: "own empty thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.AppendMessage(f.ctx, w.byBob("b1", w.bobT))
		},
		want: func(w world) ([]backend.Thread, []holds) {
			return []backend.Thread{w.aliceT}, []holds{{w.aliceT, []backend.Message{w.m0}}, {w.bobT, []backend.Message{w.byBob("b1", w.bobT)}}}
		},
	}, {
		name: "other user's thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.AppendMessage(f.ctx, w.byBob("m1", w.aliceT))
		},
		wantCode: backend.ENOTFOUND,
		want:     unchanged,
	}, {
		name: "other user's empty thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.AppendMessage(f.ctx, w.byAlice("m1", w.bobT))
		},
		wantCode: backend.ENOTFOUND,
		want:     unchanged,
	}, {
		name: "missing thread",
		call: func(s backend.Store, f *fixture, w world) error {
			return s.AppendMessage(f.ctx, w.byAlice("m1", w.newT))
		},
		wantCode: backend.ENOTFOUND,
		want:     unchanged,
	}, {
		name: "taken message id",
		call: func(s backend.Store, f *fixture, w world) error {
			m := w.byAlice("m0", w.aliceT)
			m.Content = "not the first m0"
			return s.AppendMessage(f.ctx, m)
		},
		wantCode: anyError,
		want:     unchanged,
	}})
}

// testMessagesOrder writes many messages with one timestamp to two threads
// through both write methods, and wants each thread's messages back in the
// order they were written.
func testMessagesOrder(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	alice := f.user("u-alice", "alice@example.com")
	bob := f.user("u-bob", "bob@example.com")
	a := f.thread("t-a", alice.ID, t0)
	b := f.thread("t-b", alice.ID, t0)
	empty := f.thread("t-empty", alice.ID, t0)

	const n = 300
	want := map[string][]backend.Message{}
	for i := range n {
		th := a
		if i%3 == 0 {
			th = b
		}
		role := backend.RoleUser
		if i%2 == 1 {
			role = backend.RoleAssistant
		}
		m := message(fmt.Sprintf("m%03d", n-i), th, alice.ID, role) // IDs descend: no sorting by ID
		var err error
		if i%4 == 0 {
			err = s.StartRun(f.ctx, th, false, m)
		} else {
			err = s.AppendMessage(f.ctx, m)
		}
		if err != nil {
			t.Fatalf("write of message %d (%s) = %v; want nil", i, m.ID, err)
		}
		want[th.ID] = append(want[th.ID], m)
	}
	f.checkMessages(alice.ID, a.ID, want[a.ID])
	f.checkMessages(alice.ID, b.ID, want[b.ID])

	got, err := s.Messages(f.ctx, alice.ID, empty.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("Messages(own empty thread) = (%d messages, %v); want (0, nil)", len(got), err)
	}
	for _, tt := range []struct{ user, thread string }{
		{bob.ID, a.ID}, {bob.ID, empty.ID}, {alice.ID, "t-missing"}, {"u-nobody", a.ID},
	} {
		_, err := s.Messages(f.ctx, tt.user, tt.thread)
		checkCode(t, fmt.Sprintf("Messages(%q, %q)", tt.user, tt.thread), err, backend.ENOTFOUND)
	}
}
