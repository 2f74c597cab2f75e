package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// testConcurrentWriters runs many goroutines that each start runs and
// append answers on threads of their own (users are shared), while readers
// list messages. Every acknowledged write must be read back exactly once,
// in the order its goroutine wrote it, and every list a reader saw must be
// a prefix of the thread's final list.
func testConcurrentWriters(t *testing.T, fresh func(*testing.T) backend.Store) {
	writers, runs, users := 32, 50, 4
	if testing.Short() {
		writers, runs = 8, 10
	}
	const newThreadEvery = 10 // runs per thread
	s := fresh(t)
	f := newFixture(t, s)
	for u := range users {
		f.user(fmt.Sprintf("u-%d", u), fmt.Sprintf("user%d@example.com", u))
	}
	userOf := func(g int) string { return fmt.Sprintf("u-%d", g%users) }

	// acked[g] holds goroutine g's acknowledged threads and messages.
	type ackedThread struct {
		th   backend.Thread
		msgs []backend.Message
	}
	acked := make([][]*ackedThread, writers)

	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			user := userOf(g)
			var cur *ackedThread
			for r := range runs {
				create := r%newThreadEvery == 0
				if create {
					th := backend.Thread{ID: fmt.Sprintf("t-%d-%d", g, r/newThreadEvery), UserID: user, Title: "concurrent", CreatedAt: at(0)}
					cur = &ackedThread{th: th}
				}
				q := message(fmt.Sprintf("m-%d-%d-q", g, r), cur.th, user, backend.RoleUser)
				if err := s.StartRun(f.ctx, cur.th, create, q); err != nil {
					t.Errorf("writer %d: StartRun(run %d, create=%t) = %v; want nil", g, r, create, err)
					return
				}
				if create {
					acked[g] = append(acked[g], cur)
				}
				cur.msgs = append(cur.msgs, q)
				a := message(fmt.Sprintf("m-%d-%d-a", g, r), cur.th, user, backend.RoleAssistant)
				if err := s.AppendMessage(f.ctx, a); err != nil {
					t.Errorf("writer %d: AppendMessage(run %d) = %v; want nil", g, r, err)
					return
				}
				cur.msgs = append(cur.msgs, a)
			}
		})
	}

	// Readers look at each writer's first thread while the writers run.
	type snapshot struct {
		user, thread string
		ids          []string
	}
	done := make(chan struct{})
	var snapshots [2][]snapshot
	var rg sync.WaitGroup
	for i := range snapshots {
		rg.Go(func() {
			for n := 0; n < 100; n++ {
				select {
				case <-done:
					return
				default:
				}
				g := (n*7 + i) % writers
				thread := fmt.Sprintf("t-%d-0", g)
				ms, err := s.Messages(f.ctx, userOf(g), thread)
				if err != nil && backend.ErrorCode(err) != backend.ENOTFOUND {
					t.Errorf("reader: Messages(%q) = %v; want nil or code not_found", thread, err)
					return
				}
				snapshots[i] = append(snapshots[i], snapshot{userOf(g), thread, messageIDs(ms)})
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	if t.Failed() {
		return
	}

	// Every acknowledged thread once per user, every message once, in order.
	final := map[string][]string{} // thread ID -> message IDs
	wantThreads := map[string][]string{}
	for g := range writers {
		for _, a := range acked[g] {
			wantThreads[a.th.UserID] = append(wantThreads[a.th.UserID], a.th.ID)
			f.checkMessages(a.th.UserID, a.th.ID, a.msgs)
			final[a.th.ID] = messageIDs(a.msgs)
		}
	}
	for u := range users {
		user := fmt.Sprintf("u-%d", u)
		ts, err := s.Threads(f.ctx, user)
		if err != nil {
			t.Errorf("Threads(%q) = %v; want nil", user, err)
			continue
		}
		var got []string
		for _, th := range ts {
			got = append(got, th.ID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(wantThreads[user]))
		if !slices.Equal(got, want) {
			t.Errorf("Threads(%q) = %d threads %v; want the %d acknowledged %v", user, len(got), got, len(want), want)
		}
	}
	for _, snaps := range snapshots {
		for _, sn := range snaps {
			if all := final[sn.thread]; len(sn.ids) > len(all) || !slices.Equal(sn.ids, all[:len(sn.ids)]) {
				t.Errorf("a reader saw Messages(%q, %q) = %v; want a prefix of the final %v", sn.user, sn.thread, sn.ids, all)
			}
		}
	}
}

// testCanceled calls every method with a canceled context: each returns an
// error that wraps context.Canceled, and the writes write nothing.
func testCanceled(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	w := newWorld(f)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()

	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error {
			return s.CreateUser(ctx, backend.User{ID: "u-carol", Email: "carol@example.com", CreatedAt: t0})
		}},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, w.alice.Email); return err }},
		{"CreateThread", func() error { return s.CreateThread(ctx, w.newT) }},
		{"Threads", func() error { _, err := s.Threads(ctx, w.alice.ID); return err }},
		{"Thread", func() error { _, err := s.Thread(ctx, w.alice.ID, w.aliceT.ID); return err }},
		{"StartRun create=true", func() error { return s.StartRun(ctx, w.newT, true, w.byAlice("m1", w.newT)) }},
		{"StartRun create=false", func() error { return s.StartRun(ctx, w.aliceT, false, w.byAlice("m2", w.aliceT)) }},
		{"AppendMessage", func() error { return s.AppendMessage(ctx, w.byAlice("m3", w.aliceT)) }},
		{"Messages", func() error { _, err := s.Messages(ctx, w.alice.ID, w.aliceT.ID); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled context) = %v; want an error wrapping context.Canceled", c.name, err)
		}
	}
	if _, err := s.UserByEmail(f.ctx, "carol@example.com"); backend.ErrorCode(err) != backend.ENOTFOUND {
		t.Errorf("UserByEmail(user created with canceled context) = %v; want code %s", err, backend.ENOTFOUND)
	}
	f.checkThreads(w.alice.ID, []backend.Thread{w.aliceT})
	f.checkMessages(w.alice.ID, w.aliceT.ID, []backend.Message{w.m0})
}

func testPing(t *testing.T, fresh func(*testing.T) backend.Store) {
	s := fresh(t)
	f := newFixture(t, s)
	if err := s.Ping(f.ctx); err != nil {
		t.Errorf("Ping(new store) = %v; want nil", err)
	}
	newWorld(f)
	if err := s.Ping(f.ctx); err != nil {
		t.Errorf("Ping(after writes) = %v; want nil", err)
	}
}

// testClose closes a store while writers are busy: Close returns nil, every
// call in flight returns, no write that starts after Close has returned is
// acknowledged, and the closed store refuses work.
func testClose(t *testing.T, s backend.Store) {
	f := newFixture(t, s)
	w := newWorld(f)

	const writers = 4
	var closing, closed atomic.Bool
	started := make(chan struct{}, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			signaled := false
			signal := func() {
				if !signaled {
					signaled = true
					started <- struct{}{}
				}
			}
			defer signal()
			for i := range 100_000 {
				after := closed.Load()
				err := s.AppendMessage(f.ctx, w.byAlice(fmt.Sprintf("m-%d-%d", g, i), w.aliceT))
				switch {
				case err != nil && !closing.Load():
					t.Errorf("writer %d: AppendMessage before Close = %v; want nil", g, err)
					return
				case err != nil:
					return // the store is closing
				case after:
					t.Errorf("writer %d: AppendMessage after Close returned = nil; want an error", g)
					return
				}
				if i == 2 {
					signal()
				}
			}
			t.Errorf("writer %d: 100000 writes and Close has not stopped them", g)
		})
	}
	for range writers {
		<-started
	}
	closing.Store(true)
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
	closed.Store(true)
	wg.Wait()

	if err := s.Ping(f.ctx); err == nil {
		t.Errorf("Ping(closed store) = nil; want an error")
	}
	if err := s.CreateUser(f.ctx, backend.User{ID: "u-carol", Email: "carol@example.com", CreatedAt: t0}); err == nil {
		t.Errorf("CreateUser(closed store) = nil; want an error")
	}
	if _, err := s.UserByEmail(f.ctx, w.alice.Email); err == nil {
		t.Errorf("UserByEmail(closed store) = nil; want an error")
	}
}
