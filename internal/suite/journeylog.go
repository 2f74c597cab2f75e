package suite

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// JourneysEnv names a file that receives a line per journey of every
// scenario whose WebSocket ran on the epoll loops: "goldenpath", the
// socket's local port, and its ws_ready in microseconds ("-" when the
// split was unseen). scripts/bench-latency.sh matches each line with the
// packet capture's reading of the same connection (bench/wiretap
// -conns). A diagnostic, as GOLDENPATH_CPUPROFILE is: each journey then
// costs one getsockname(2) more.
const JourneysEnv = "GOLDENPATH_JOURNEYS"

var journeyLog struct {
	once sync.Once
	mu   sync.Mutex
	w    *bufio.Writer // nil: not asked for, or the file could not be made
}

// journeyLogOn reports whether JourneysEnv asks for the lines, opening
// its file the first time.
func journeyLogOn() bool {
	journeyLog.once.Do(func() {
		path := os.Getenv(JourneysEnv)
		if path == "" {
			return
		}
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "goldenpath: %s=%s: %v; running without the journey lines\n", JourneysEnv, path, err)
			return
		}
		journeyLog.w = bufio.NewWriter(f)
	})
	return journeyLog.w != nil
}

// logJourney writes res's line, if it has a port.
func logJourney(res *journey.Result) {
	if res.LocalPort == 0 {
		return
	}
	ready := "-"
	for _, s := range res.Phases {
		if s.Name == journey.PhaseWSReady {
			ready = strconv.FormatFloat(float64(s.D.Nanoseconds())/1e3, 'f', 3, 64)
		}
	}
	journeyLog.mu.Lock()
	defer journeyLog.mu.Unlock()
	fmt.Fprintf(journeyLog.w, "goldenpath %d %s\n", res.LocalPort, ready)
}

// flushJourneyLog writes out the lines so far.
func flushJourneyLog() {
	if !journeyLogOn() {
		return
	}
	journeyLog.mu.Lock()
	defer journeyLog.mu.Unlock()
	_ = journeyLog.w.Flush()
}
