package goldenpath

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// newProgress returns a progress reporter — one line rewritten in place on
// a terminal, a plain line every 5 seconds otherwise — and a function that
// clears the in-place line before other output.
func newProgress(w io.Writer) (func(suite.Progress), func()) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var mu sync.Mutex
	last := map[string]int64{}
	clearLine := func() {
		if tty {
			mu.Lock()
			fmt.Fprint(w, "\r\033[K")
			mu.Unlock()
		}
	}
	return func(p suite.Progress) {
		mu.Lock()
		defer mu.Unlock()
		secs := int(p.Elapsed.Round(time.Second) / time.Second)
		if !tty && secs%5 != 0 {
			return
		}
		done := p.Live.Completed.Load()
		rate := float64(done-last[p.Scenario]) / 5
		if tty {
			rate = float64(done - last[p.Scenario])
		}
		last[p.Scenario] = done
		var b strings.Builder
		fmt.Fprintf(&b, "[%s] %3ds  users %d  journeys %d (%.1f/s)  failed %d", p.Scenario, secs, p.Live.Active.Load(), done, rate, p.Set.Counter(suite.CounterFailed))
		for _, ph := range []string{journey.PhaseJourney, journey.PhaseFirstEvent, journey.PhaseLogin} {
			if h := p.Set.Histogram(ph); h != nil && h.Count() > 0 {
				fmt.Fprintf(&b, "  p95 %s %s", ph, h.Quantile(0.95).Round(100*time.Microsecond))
			}
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", b.String())
		} else {
			fmt.Fprintln(w, b.String())
		}
	}, clearLine
}
