package race

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// raceDB: users create threads and write messages into them concurrently
// (threads over HTTP, messages as runs over the WebSocket); afterwards every
// acknowledged write must be read back exactly once, as Jepsen's set
// checker does: lost, duplicated and unexpected elements are counted. A
// write that was sent but not acknowledged (its call failed or timed out)
// is indeterminate: read back, it is "recovered", as Jepsen calls it, not
// unexpected; absent, it is not lost. Only what this user never wrote is
// unexpected.
func raceDB(ctx context.Context, e *suite.Env, rt time.Duration) (results.Scenario, bool, error) {
	const users, threadsPer, msgsPer = 10, 3, 2
	start := time.Now()
	set := metrics.NewSet()
	var ev evidence
	sample := ev.add
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each user's session is one of the scenario's journeys: it
			// fails with a database error.
			failed := false
			defer func() { countJourney(set, failed) }()
			dbError := func() {
				failed = true
				set.Add(cDBErrors, 1)
			}
			s, err := journey.Dial(ctx, e.Target, e.Account(1000+u))
			if err != nil {
				dbError()
				sample(results.Sample{Kind: "db_error", Detail: err.Error()})
				return
			}
			defer s.Close()
			tok := s.Session().Token
			var before protocol.ThreadList
			if _, _, err := e.Target.JSON(ctx, "GET", protocol.PathThreads, tok, nil, &before); err != nil {
				dbError()
				return
			}
			known := map[string]bool{}
			for _, t := range before.Threads {
				known[t.ID] = true
			}
			acked := map[string][]string{} // thread -> acknowledged message ids
			sent := map[string]bool{}      // every message id asked, acknowledged or not
			indeterminate := 0             // thread creations that failed: each may have happened
			for i := range threadsPer {
				var th protocol.Thread
				if _, _, err := e.Target.JSON(ctx, "POST", protocol.PathThreads, tok, protocol.NewThread{Title: fmt.Sprintf("race %d/%d", u, i)}, &th); err != nil {
					dbError()
					indeterminate++
					sample(results.Sample{Kind: "db_error", Detail: err.Error()})
					continue
				}
				set.Add(cDBAcked, 1)
				acked[th.ID] = nil
				for j := range msgsPer {
					mid := fmt.Sprintf("db-%d-%d-%d-%d", u, i, j, time.Now().UnixNano())
					sent[mid] = true
					if err := s.Ask(mid, "store me "+mid, th.ID); err != nil {
						dbError()
						continue
					}
					f, err := s.Await(mid, rt)
					if err != nil || f.Type != protocol.EventAgentCompleted {
						dbError()
						sample(results.Sample{Kind: "db_error", Detail: fmt.Sprintf("run %s: %v", mid, err)})
						continue
					}
					set.Add(cDBAcked, 2) // the question and the answer
					acked[th.ID] = append(acked[th.ID], mid)
				}
			}
			// Read back.
			var after protocol.ThreadList
			if _, _, err := e.Target.JSON(ctx, "GET", protocol.PathThreads, tok, nil, &after); err != nil {
				dbError()
				return
			}
			seen := map[string]int{}
			for _, t := range after.Threads {
				seen[t.ID]++
				if _, ours := acked[t.ID]; ours || known[t.ID] {
					continue
				}
				if indeterminate > 0 {
					indeterminate--
					set.Add(cDBRecovered, 1)
				} else {
					set.Add(cDBUnexpected, 1)
					sample(results.Sample{Kind: "db_unexpected", Detail: "thread " + t.ID + " was never created by this user"})
				}
			}
			for id, mids := range acked {
				switch seen[id] {
				case 0:
					set.Add(cDBLost, 1)
					sample(results.Sample{Kind: "db_lost", Detail: "acknowledged thread " + id + " is not listed"})
				case 1:
				default:
					set.Add(cDBDuplicated, int64(seen[id]-1))
					sample(results.Sample{Kind: "db_duplicated", Detail: fmt.Sprintf("thread %s listed %d times", id, seen[id])})
				}
				var ml protocol.MessageList
				if _, _, err := e.Target.JSON(ctx, "GET", protocol.PathThreads+"/"+url.PathEscape(id)+"/messages", tok, nil, &ml); err != nil {
					dbError()
					continue
				}
				count := map[string]int{}
				for _, m := range ml.Messages {
					if sent[m.MessageID] && !slices.Contains(mids, m.MessageID) {
						set.Add(cDBRecovered, 1) // asked, never acknowledged, stored all the same
						continue
					}
					count[m.MessageID+"/"+m.Role]++
				}
				want := map[string]bool{}
				for _, mid := range mids {
					for _, role := range []string{"user", "assistant"} {
						k := mid + "/" + role
						want[k] = true
						switch n := count[k]; {
						case n == 0:
							set.Add(cDBLost, 1)
							sample(results.Sample{Kind: "db_lost", Detail: fmt.Sprintf("thread %s lacks the acknowledged %s message of %s", id, role, mid)})
						case n > 1:
							set.Add(cDBDuplicated, int64(n-1))
							sample(results.Sample{Kind: "db_duplicated", Detail: fmt.Sprintf("thread %s holds the %s message of %s %d times", id, role, mid, n)})
						}
					}
				}
				for k, n := range count {
					if !want[k] {
						set.Add(cDBUnexpected, int64(n))
						sample(results.Sample{Kind: "db_unexpected", Detail: fmt.Sprintf("thread %s holds %s, which was never acknowledged", id, k)})
					}
				}
			}
		}()
	}
	wg.Wait()
	return manual(scRaceDB, users, set, start, ev.list()), ctx.Err() != nil, nil
}

func judgeDB(sc *results.Scenario) (string, string) {
	c := sc.Metrics.Counters
	ev := fmt.Sprintf("%d acknowledged writes (threads, questions, answers) from concurrent users: %d lost, %d duplicated, %d unexpected on read-back",
		c[cDBAcked], c[cDBLost], c[cDBDuplicated], c[cDBUnexpected])
	if c[cDBAcked] == 0 {
		ev = "insufficient evidence: 0 acknowledged writes (the check needs 1)"
	}
	if c[cDBRecovered] > 0 {
		ev += fmt.Sprintf(" (and %d writes whose call failed found stored: indeterminate, not judged)", c[cDBRecovered])
	}
	if c[cDBErrors] > 0 {
		ev += fmt.Sprintf("; %d calls failed", c[cDBErrors])
	}
	if s := suite.FirstSample(sc, "db_lost", "db_duplicated", "db_unexpected", "db_error"); s != "" {
		ev += "; e.g. " + s
	}
	if c[cDBAcked] == 0 || c[cDBLost] > 0 || c[cDBDuplicated] > 0 || c[cDBUnexpected] > 0 || c[cDBErrors] > 0 {
		return results.Fail, ev
	}
	return results.Pass, ev
}
