package memory

import (
	"context"
	"sync"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// tally counts the operations of a memory workload and keeps the first
// failure: memory measured under a load that failed proves nothing. It
// also counts each in set as it ends, so that the scenario's series shows
// when the load ran: as a journey (succeeded or failed) when journeys is
// set, else as one of the scenario's operations.
type tally struct {
	set      *metrics.Set
	journeys bool

	mu           sync.Mutex
	done, failed int64
	first        string
}

// add counts one operation, failed when err is not nil.
func (t *tally) add(err error) {
	switch {
	case t.set == nil:
	case !t.journeys:
		t.set.Add(results.CounterOperations, 1)
	case err != nil:
		t.set.Add(suite.CounterJourneys, 1)
		t.set.Add(suite.CounterFailed, 1)
	default:
		t.set.Add(suite.CounterJourneys, 1)
		t.set.Add(suite.CounterSucceeded, 1)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	if err != nil {
		t.failed++
		if t.first == "" {
			t.first = journey.Redact(err.Error())
		}
	}
}

// connectionBurst opens and closes n WebSocket connections, c at a time.
func connectionBurst(ctx context.Context, e *suite.Env, t *tally, c, n int) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, c)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := journey.Dial(ctx, e.Target, e.Account(i))
			if err == nil {
				s.Close()
			}
			if ctx.Err() == nil {
				t.add(err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// configBurst reads the config n times (and updates it a few times when
// there is an admin token).
func configBurst(ctx context.Context, e *suite.Env, t *tally, n int) error {
	us, err := journey.Login(ctx, e.Target, e.Account(0))
	if err != nil {
		if ctx.Err() == nil {
			t.add(err)
		}
		return nil
	}
	var snap protocol.ConfigSnapshot
	for i := range n {
		if ctx.Err() != nil {
			return nil
		}
		_, _, err := e.Target.JSON(ctx, "GET", protocol.PathConfig, us.Token, nil, &snap)
		t.add(err)
		if e.AdminToken != "" && i%100 == 0 && len(snap.Values) > 0 {
			_, _, err := e.Target.JSON(ctx, "PUT", protocol.PathAdminConfig, e.AdminToken, map[string]any{"values": snap.Values}, nil)
			t.add(err)
		}
	}
	return nil
}

// dbBurst creates, lists and reads threads: n operations of each kind over
// c users.
func dbBurst(ctx context.Context, e *suite.Env, t *tally, c, n int) error {
	var wg sync.WaitGroup
	per := max(1, n/c)
	for u := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			us, err := journey.Login(ctx, e.Target, e.Account(u))
			if err != nil {
				if ctx.Err() == nil {
					t.add(err)
				}
				return
			}
			for range per {
				if ctx.Err() != nil {
					return
				}
				var th protocol.Thread
				_, _, err := e.Target.JSON(ctx, "POST", protocol.PathThreads, us.Token, protocol.NewThread{Title: "memory"}, &th)
				t.add(err)
				if err != nil {
					continue
				}
				_, _, err = e.Target.JSON(ctx, "GET", protocol.PathThreads, us.Token, nil, nil)
				t.add(err)
				_, _, err = e.Target.JSON(ctx, "GET", protocol.PathThreads+"/"+th.ID+"/messages", us.Token, nil, nil)
				t.add(err)
			}
		}()
	}
	wg.Wait()
	return nil
}
