package server_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres/pgtest"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// acked is an answer whose agent_completed a client received: the
// backend's promise that the question and the answer are stored.
type acked struct {
	user      *user
	threadID  string
	messageID string
	question  string
	answer    string
}

// TestCrashLosesNoAcknowledgedAnswer: kill -9 of the backend under load
// loses no message whose agent_completed was sent. Users run their
// questions over real sockets against a backend in its own process, which
// is killed with SIGKILL mid-load; a new backend started on the same data
// must hold every question and answer a client saw acknowledged, once.
// The same check run on a backend whose store loses or repeats writes
// (faults lose-writes, duplicate-writes) must find them.
func TestCrashLosesNoAcknowledgedAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills backend processes")
	}
	for _, tc := range []struct {
		faults      string
		lost, twice bool
	}{
		{"", false, false},
		{"lose-writes=20", true, false},
		{"duplicate-writes=20", false, true},
	} {
		name := tc.faults
		if name == "" {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			acks, lost, twice := crashAndReadBack(t, tc.faults, "")
			t.Logf("%d answers acknowledged before kill -9; after the restart %d lost, %d duplicated", acks, lost, twice)
			if (lost > 0) != tc.lost || (twice > 0) != tc.twice {
				t.Errorf("after kill -9 and a restart on the same data: %d of %d acknowledged answers lost, %d stored twice; want lost: %t, duplicated: %t",
					lost, acks, twice, tc.lost, tc.twice)
			}
		})
	}
}

// TestCrashLosesNoAcknowledgedAnswerOnPostgres is
// TestCrashLosesNoAcknowledgedAnswer with the store in PostgreSQL (serve
// --db): the backend's process is killed, the database server is not.
func TestCrashLosesNoAcknowledgedAnswerOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills backend processes")
	}
	pg := pgtest.Start(t)
	for _, tc := range []struct {
		faults string
		lost   bool
	}{{"", false}, {"lose-writes=20", true}} {
		t.Run(cmp.Or(tc.faults, "clean"), func(t *testing.T) {
			acks, lost, twice := crashAndReadBack(t, tc.faults, pg.NewDatabase(t))
			t.Logf("PostgreSQL: %d answers acknowledged before kill -9; after the restart %d lost, %d duplicated", acks, lost, twice)
			if (lost > 0) != tc.lost || twice > 0 {
				t.Errorf("after kill -9 and a restart on the same database: %d of %d acknowledged answers lost, %d stored twice; want lost: %t, none twice",
					lost, acks, twice, tc.lost)
			}
		})
	}
}

// crashAndReadBack loads a backend with faults until kill -9, starts
// another on its data (the SQLite database in a folder, or the PostgreSQL
// database at db when it is not ""), and reads every acknowledged answer
// back: how many were acknowledged, lost (the question or the answer
// missing) and stored twice.
func crashAndReadBack(t *testing.T, faults, db string) (acks, lost, twice int) {
	dir := t.TempDir()
	first := startChildOn(t, dir, 4, 2, "GOLDENPATH_CHILD_FAULTS="+faults, "GOLDENPATH_CHILD_DB="+db)
	const users = 16
	us := make([]*user, users)
	for i := range us {
		us[i] = first.newUser()
	}
	var (
		mu   sync.Mutex
		seen []acked
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	for i, u := range us {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, a := range askUntilGone(first.harness, u, i, stop) {
				mu.Lock()
				seen = append(seen, a)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond) // load running: runs start, stream and complete all the time
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 the backend: %v", err)
	}
	_ = first.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(seen) < users {
		t.Fatalf("only %d answers acknowledged before the kill; want at least one a user, or the test proves nothing", len(seen))
	}

	second := startChildOn(t, dir, 4, 2, "GOLDENPATH_CHILD_DB="+db)
	byThread := map[string][]protocol.Message{}
	for _, a := range seen {
		msgs, ok := byThread[a.threadID]
		if !ok {
			r := second.do("GET", protocol.PathThreads+"/"+url.PathEscape(a.threadID)+"/messages", a.user.token, nil)
			if r.code != 200 {
				t.Fatalf("after the restart, GET thread %s = %d %.200s; want 200: its run was acknowledged", a.threadID, r.code, r.body)
			}
			var ml protocol.MessageList
			r.decode(t, &ml)
			msgs = ml.Messages
			byThread[a.threadID] = msgs
		}
		var q, ans int
		for _, m := range msgs {
			if m.MessageID != a.messageID {
				continue
			}
			switch {
			case m.Role == "user" && m.Content == a.question:
				q++
			case m.Role == "assistant" && m.Content == a.answer:
				ans++
			}
		}
		switch {
		case q == 0 || ans == 0:
			lost++
		case q > 1 || ans > 1:
			twice++
		}
	}
	return len(seen), lost, twice
}

// askUntilGone has u ask question after question, each in a new thread,
// until the connection breaks (the backend was killed) or stop is closed;
// it returns the answers acknowledged by agent_completed.
func askUntilGone(h *harness, u *user, i int, stop <-chan struct{}) []acked {
	c, err := h.tryDial(u.token, false)
	if err != nil {
		return nil
	}
	defer c.ws.Close()
	if _, err := c.readFrame(5 * time.Second); err != nil { // connection_established
		return nil
	}
	var out []acked
	for n := 0; ; n++ {
		select {
		case <-stop:
			return out
		default:
		}
		a := acked{user: u, messageID: fmt.Sprintf("m-%d-%d-%s", i, n, randHex(4)), question: fmt.Sprintf("question %d of user %d", n, i)}
		b, _ := json.Marshal(userMessage(a.messageID, a.question, ""))
		if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
			return out
		}
		for {
			e, err := c.readFrame(5 * time.Second)
			if err != nil {
				var ce *websocket.CloseError
				_ = errors.As(err, &ce)
				return out
			}
			if e.str("message_id") != a.messageID {
				continue
			}
			if e.Type == protocol.EventAgentCompleted {
				var d protocol.AgentCompleted
				if err := json.Unmarshal(mustJSON(e.Data), &d); err != nil {
					fmt.Fprintln(os.Stderr, "agent_completed:", err)
					return out
				}
				a.threadID, a.answer = d.ThreadID, d.Result.Content
				out = append(out, a)
				break
			}
			if protocol.IsTerminal(e.Type) || e.Type == protocol.EventErrorMessage {
				break
			}
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
