// Package fault defines the switchable defects of the reference backend.
//
// Each fault reproduces one known race or failure of a real-time agent
// backend, so that every goldenpath detector can be shown to fire on it and
// to stay quiet without it. Faults are off by default; a [Set] is parsed once
// from the serve command's --fault flag and handed to the parts it affects.
// The code of each fault lives in the path it names (the hub, the agent
// factory, the config store...), behind a field of [Set], so the clean path
// runs none of it.
//
// # Faults
//
//	handshake-race[=DUR]   frames a client sends in the first DUR (default 100ms)
//	                       after connection_established are silently dropped
//	shared-agent           one agent instance serves every run; runs serialise and
//	                       stream to whichever user set its "current user" last
//	serial-runs            one global lock around every run, taken before
//	                       agent_started: runs wait for one another, each event right
//	config-torn            config updates write version, values and checksum one by one
//	cross-user             the event router keys connections by a non-unique hash of the user
//	cleanup-leak           closed connections stay in the hub and their runs go on
//	memory-leak[=SIZE]     every run retains SIZE bytes forever (default 64KiB)
//	drop-events=N          one run frame in N is lost (a seq gap)
//	duplicate-events=N     one run frame in N is sent twice (a repeated seq)
//	reorder-events=N       one run frame in N is swapped with the next (seq steps back)
//	queue-reorder          frames of several runs queued on one connection at once are
//	                       written grouped by run, newest first, numbered in queue order (seq steps
//	                       back); invisible with one run per connection
//	slow-login=DUR         every login takes DUR longer
//	slow-db=DUR            every database call takes DUR longer
//	slow-factory=DUR       every agent instantiation takes DUR longer
//	slow-config=DUR        every config read takes DUR longer
//	close-1011=P           a fraction P of connections is closed with 1011 mid-run
//	lose-writes=N          one answer in N is acknowledged (agent_completed) but never
//	                       stored: a lost write
//	duplicate-writes=N     one answer in N is stored twice: a duplicated write
//	data-race              runs update a plain counter from many goroutines: a real
//	                       Go data race, for goldenpath run --race-detector to find
//	                       (harmless, and invisible, without the race detector)
package fault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults for faults given without a value.
const (
	DefaultHandshakeWindow = 100 * time.Millisecond
	DefaultLeakSize        = 64 << 10
)

// Set is the faults a backend runs with. The zero Set is the clean backend.
type Set struct {
	HandshakeRace   time.Duration // window after connection_established in which client frames are dropped
	SharedAgent     bool
	SerialRuns      bool // a global lock around every run, taken before agent_started
	ConfigTorn      bool
	CrossUser       bool
	CleanupLeak     bool
	MemoryLeak      int  // bytes retained per run
	DropEvents      int  // one run frame in N lost
	DuplicateEvents int  // one run frame in N sent twice
	ReorderEvents   int  // one run frame in N swapped with the next
	QueueReorder    bool // frames of several runs queued at once written grouped by run
	SlowLogin       time.Duration
	SlowDB          time.Duration
	SlowFactory     time.Duration
	SlowConfig      time.Duration
	Close1011       float64 // fraction of connections closed with 1011 mid-run
	LoseWrites      int     // one answer in N acknowledged but not stored
	DuplicateWrites int     // one answer in N stored twice
	DataRace        bool    // an unsynchronised counter shared by runs
}

// Names lists every fault name Parse accepts, in documentation order.
var Names = []string{
	"handshake-race", "shared-agent", "serial-runs", "config-torn", "cross-user", "cleanup-leak",
	"memory-leak", "drop-events", "duplicate-events", "reorder-events", "queue-reorder",
	"slow-login", "slow-db", "slow-factory", "slow-config", "close-1011", "lose-writes", "duplicate-writes", "data-race",
}

// Parse reads a comma-separated list of NAME[=VALUE] faults. The empty string
// is the clean backend. Unknown names and bad values are errors that name the
// fault and the accepted form.
func Parse(list string) (Set, error) {
	var s Set
	list = strings.TrimSpace(list)
	if list == "" || list == "none" {
		return s, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		name, val, hasVal := strings.Cut(item, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if seen[name] {
			return Set{}, fmt.Errorf("fault: %q given twice", name)
		}
		seen[name] = true
		var err error
		switch name {
		case "handshake-race":
			s.HandshakeRace, err = optDuration(val, hasVal, DefaultHandshakeWindow)
		case "shared-agent":
			err = noValue(hasVal)
			s.SharedAgent = true
		case "serial-runs":
			err = noValue(hasVal)
			s.SerialRuns = true
		case "config-torn":
			err = noValue(hasVal)
			s.ConfigTorn = true
		case "cross-user":
			err = noValue(hasVal)
			s.CrossUser = true
		case "cleanup-leak":
			err = noValue(hasVal)
			s.CleanupLeak = true
		case "memory-leak":
			s.MemoryLeak = DefaultLeakSize
			if hasVal {
				s.MemoryLeak, err = ParseSize(val)
			}
		case "drop-events":
			s.DropEvents, err = everyN(val, hasVal, "frame")
		case "duplicate-events":
			s.DuplicateEvents, err = everyN(val, hasVal, "frame")
		case "reorder-events":
			s.ReorderEvents, err = everyN(val, hasVal, "frame")
		case "queue-reorder":
			err = noValue(hasVal)
			s.QueueReorder = true
		case "slow-login":
			s.SlowLogin, err = duration(val, hasVal)
		case "slow-db":
			s.SlowDB, err = duration(val, hasVal)
		case "slow-factory":
			s.SlowFactory, err = duration(val, hasVal)
		case "slow-config":
			s.SlowConfig, err = duration(val, hasVal)
		case "close-1011":
			s.Close1011, err = fraction(val, hasVal)
		case "lose-writes":
			s.LoseWrites, err = everyN(val, hasVal, "answer")
		case "duplicate-writes":
			s.DuplicateWrites, err = everyN(val, hasVal, "answer")
		case "data-race":
			err = noValue(hasVal)
			s.DataRace = true
		default:
			return Set{}, fmt.Errorf("fault: unknown fault %q; known faults: %s", name, strings.Join(Names, ", "))
		}
		if err != nil {
			return Set{}, fmt.Errorf("fault: %s: %w", name, err)
		}
	}
	return s, nil
}

// Any reports whether any fault is on.
func (s Set) Any() bool { return s != Set{} }

// String renders s in the form Parse accepts; the clean Set is "none".
func (s Set) String() string {
	var parts []string
	add := func(on bool, f string, args ...any) {
		if on {
			parts = append(parts, fmt.Sprintf(f, args...))
		}
	}
	add(s.HandshakeRace > 0, "handshake-race=%s", s.HandshakeRace)
	add(s.SharedAgent, "shared-agent")
	add(s.SerialRuns, "serial-runs")
	add(s.ConfigTorn, "config-torn")
	add(s.CrossUser, "cross-user")
	add(s.CleanupLeak, "cleanup-leak")
	add(s.MemoryLeak > 0, "memory-leak=%d", s.MemoryLeak)
	add(s.DropEvents > 0, "drop-events=%d", s.DropEvents)
	add(s.DuplicateEvents > 0, "duplicate-events=%d", s.DuplicateEvents)
	add(s.ReorderEvents > 0, "reorder-events=%d", s.ReorderEvents)
	add(s.QueueReorder, "queue-reorder")
	add(s.SlowLogin > 0, "slow-login=%s", s.SlowLogin)
	add(s.SlowDB > 0, "slow-db=%s", s.SlowDB)
	add(s.SlowFactory > 0, "slow-factory=%s", s.SlowFactory)
	add(s.SlowConfig > 0, "slow-config=%s", s.SlowConfig)
	add(s.Close1011 > 0, "close-1011=%g", s.Close1011)
	add(s.LoseWrites > 0, "lose-writes=%d", s.LoseWrites)
	add(s.DuplicateWrites > 0, "duplicate-writes=%d", s.DuplicateWrites)
	add(s.DataRace, "data-race")
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func noValue(hasVal bool) error {
	if hasVal {
		return errors.New("takes no value")
	}
	return nil
}

func duration(val string, hasVal bool) (time.Duration, error) {
	if !hasVal {
		return 0, errors.New("needs a duration, e.g. =200ms")
	}
	d, err := time.ParseDuration(val)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (e.g. 200ms, 1.5s)", val)
	}
	return d, nil
}

func optDuration(val string, hasVal bool, def time.Duration) (time.Duration, error) {
	if !hasVal {
		return def, nil
	}
	return duration(val, true)
}

func everyN(val string, hasVal bool, what string) (int, error) {
	if !hasVal {
		return 0, fmt.Errorf("needs N, one %s in N, e.g. =50", what)
	}
	n, err := strconv.Atoi(val)
	if err != nil || n < 2 {
		return 0, fmt.Errorf("%q is not an integer N >= 2 (one %s in N)", val, what)
	}
	return n, nil
}

func fraction(val string, hasVal bool) (float64, error) {
	if !hasVal {
		return 0, errors.New("needs a fraction P in (0,1], e.g. =0.1")
	}
	p, err := strconv.ParseFloat(val, 64)
	if err != nil || !(p > 0 && p <= 1) { // also refuses NaN
		return 0, fmt.Errorf("%q is not a fraction in (0,1]", val)
	}
	return p, nil
}

// ParseSize reads a byte size such as 4096, 16KiB, 64KB or 1MiB (KB and KiB
// both mean 1024 bytes).
func ParseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"GB", 1 << 30}, {"MiB", 1 << 20}, {"MB", 1 << 20}, {"KiB", 1 << 10}, {"KB", 1 << 10}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > (1<<30)/mult {
		return 0, fmt.Errorf("%q is not a size between 1 byte and 1GiB (e.g. 16KiB)", s)
	}
	return n * mult, nil
}
