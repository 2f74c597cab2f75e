package race

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestGate: the gate holds its journeys until all n arrived, and opens
// for fewer once its wait has passed since the first, saying how many it
// let go.
func TestGate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		n, arrive, want int
	}{
		{"all arrive", 3, 3, 3},
		{"one never comes", 3, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(tc.n, 200*time.Millisecond)
			var wg sync.WaitGroup
			for range tc.arrive {
				wg.Go(func() { g.Wait(context.Background()) })
			}
			wg.Wait() // a gate that never opens hangs the test: go test's timeout names it
			if got := g.Released(); got != tc.want {
				t.Errorf("Released() = %d; want %d", got, tc.want)
			}
		})
	}
	g := newGate(2, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Wait(ctx) // returns: its context ended
	if g.Released() != 0 {
		t.Errorf("Released() = %d on a gate still shut; want 0", g.Released())
	}
}
