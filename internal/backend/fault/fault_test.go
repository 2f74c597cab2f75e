package fault_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
)

// knownFaults is the list every unknown-name error must offer, written out
// here rather than taken from fault.Names so that a name dropped from Names
// fails the test.
const knownFaults = "handshake-race, shared-agent, serial-runs, config-torn, cross-user, cleanup-leak, " +
	"memory-leak, drop-events, duplicate-events, reorder-events, queue-reorder, " +
	"slow-login, slow-db, slow-factory, slow-config, close-1011, lose-writes, duplicate-writes, data-race"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want fault.Set
	}{
		{"", fault.Set{}},
		{"   ", fault.Set{}},
		{"none", fault.Set{}},
		{"handshake-race", fault.Set{HandshakeRace: 100 * time.Millisecond}},
		{"handshake-race=250ms", fault.Set{HandshakeRace: 250 * time.Millisecond}},
		{"shared-agent", fault.Set{SharedAgent: true}},
		{"serial-runs", fault.Set{SerialRuns: true}},
		{"config-torn", fault.Set{ConfigTorn: true}},
		{"cross-user", fault.Set{CrossUser: true}},
		{"cleanup-leak", fault.Set{CleanupLeak: true}},
		{"memory-leak", fault.Set{MemoryLeak: 64 << 10}},
		{"memory-leak=16KiB", fault.Set{MemoryLeak: 16 << 10}},
		{"memory-leak=64KB", fault.Set{MemoryLeak: 64 << 10}},
		{"memory-leak=1MiB", fault.Set{MemoryLeak: 1 << 20}},
		{"memory-leak=4096", fault.Set{MemoryLeak: 4096}},
		{"drop-events=50", fault.Set{DropEvents: 50}},
		{"drop-events=2", fault.Set{DropEvents: 2}},
		{"duplicate-events=3", fault.Set{DuplicateEvents: 3}},
		{"reorder-events=7", fault.Set{ReorderEvents: 7}},
		{"queue-reorder", fault.Set{QueueReorder: true}},
		{"slow-login=200ms", fault.Set{SlowLogin: 200 * time.Millisecond}},
		{"slow-db=10ms", fault.Set{SlowDB: 10 * time.Millisecond}},
		{"slow-factory=1.5s", fault.Set{SlowFactory: 1500 * time.Millisecond}},
		{"slow-config=1m", fault.Set{SlowConfig: time.Minute}},
		{"close-1011=0.1", fault.Set{Close1011: 0.1}},
		{"close-1011=1", fault.Set{Close1011: 1}},
		{"lose-writes=5", fault.Set{LoseWrites: 5}},
		{"duplicate-writes=2", fault.Set{DuplicateWrites: 2}},
		{"data-race", fault.Set{DataRace: true}},
		{" shared-agent , slow-db=5ms ,cross-user", fault.Set{SharedAgent: true, SlowDB: 5 * time.Millisecond, CrossUser: true}},
		{"memory-leak,handshake-race", fault.Set{MemoryLeak: fault.DefaultLeakSize, HandshakeRace: fault.DefaultHandshakeWindow}},
	}
	for _, name := range fault.Names {
		found := false
		for _, tt := range tests {
			found = found || strings.HasPrefix(tt.in, name)
		}
		if !found {
			t.Errorf("fault %q has no case in the table; add one", name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := fault.Parse(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, no error", tt.in, fields(got), err, fields(tt.want))
			}
			if got.Any() != (tt.want != fault.Set{}) {
				t.Errorf("Parse(%q).Any() = %t; want %t", tt.in, got.Any(), tt.want != fault.Set{})
			}
			back, err := fault.Parse(got.String())
			if err != nil || back != got {
				t.Errorf("Parse(%q) = %+v, %v; want %+v again (String of Parse(%q))", got.String(), fields(back), err, fields(got), tt.in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"nope", `fault: unknown fault "nope"; known faults: ` + knownFaults},
		{"shared-agent,slow-db=1ms,nope=3", `unknown fault "nope"`},
		{"Shared-Agent", `unknown fault "Shared-Agent"`},
		{",", `unknown fault ""`},
		{"shared-agent,", `unknown fault ""`},
		{"shared-agent,shared-agent", `fault: "shared-agent" given twice`},
		{"slow-db=1ms,slow-db=2ms", `fault: "slow-db" given twice`},
		{"memory-leak,memory-leak=1KiB", `fault: "memory-leak" given twice`},
		{"shared-agent=1", "fault: shared-agent: takes no value"},
		{"config-torn=yes", "fault: config-torn: takes no value"},
		{"cross-user=", "fault: cross-user: takes no value"},
		{"cleanup-leak=true", "fault: cleanup-leak: takes no value"},
		{"drop-events", "fault: drop-events: needs N, one frame in N"},
		{"duplicate-events", "fault: duplicate-events: needs N"},
		{"reorder-events", "fault: reorder-events: needs N"},
		{"drop-events=1", `fault: drop-events: "1" is not an integer N >= 2 (one frame in N)`},
		{"duplicate-events=0", `"0" is not an integer N >= 2`},
		{"reorder-events=-3", `"-3" is not an integer N >= 2`},
		{"drop-events=2.5", `"2.5" is not an integer N >= 2`},
		{"lose-writes", "fault: lose-writes: needs N, one answer in N"},
		{"duplicate-writes=1", `fault: duplicate-writes: "1" is not an integer N >= 2 (one answer in N)`},
		{"drop-events=", `"" is not an integer N >= 2`},
		{"slow-login", "fault: slow-login: needs a duration, e.g. =200ms"},
		{"slow-db", "fault: slow-db: needs a duration"},
		{"slow-factory", "fault: slow-factory: needs a duration"},
		{"slow-config", "fault: slow-config: needs a duration"},
		{"slow-login=-5ms", `fault: slow-login: "-5ms" is not a positive duration`},
		{"slow-db=0s", `fault: slow-db: "0s" is not a positive duration`},
		{"slow-factory=10", `fault: slow-factory: "10" is not a positive duration`},
		{"slow-config=soon", `"soon" is not a positive duration`},
		{"handshake-race=-1s", `fault: handshake-race: "-1s" is not a positive duration`},
		{"handshake-race=", `fault: handshake-race: "" is not a positive duration`},
		{"close-1011", "fault: close-1011: needs a fraction P in (0,1]"},
		{"close-1011=0", `fault: close-1011: "0" is not a fraction in (0,1]`},
		{"close-1011=1.01", `"1.01" is not a fraction in (0,1]`},
		{"close-1011=-0.5", `"-0.5" is not a fraction in (0,1]`},
		{"close-1011=+Inf", `"+Inf" is not a fraction in (0,1]`},
		// BUG (fault.go, fraction): NaN passes both p <= 0 and p > 1, so
		// Parse accepts it; the Set then reports Any() but prints "none".
		{"close-1011=NaN", `fault: close-1011: "NaN" is not a fraction in (0,1]`},
		{"memory-leak=0", `fault: memory-leak: "0" is not a size between 1 byte and 1GiB`},
		{"memory-leak=1025MiB", `"1025MiB" is not a size between 1 byte and 1GiB`},
		{"memory-leak=lots", `"lots" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := fault.Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) = %+v, %v; want error containing %q", tt.in, fields(got), err, tt.wantErr)
				return
			}
			if !strings.HasPrefix(err.Error(), "fault: ") {
				t.Errorf("Parse(%q) error %q does not start with %q", tt.in, err, "fault: ")
			}
			if got != (fault.Set{}) {
				t.Errorf("Parse(%q) = %+v with its error; want the zero Set", tt.in, fields(got))
			}
		})
	}
}

// full has every fault on, with values that are not the defaults.
var full = fault.Set{
	HandshakeRace:   250 * time.Millisecond,
	SharedAgent:     true,
	SerialRuns:      true,
	ConfigTorn:      true,
	CrossUser:       true,
	CleanupLeak:     true,
	MemoryLeak:      16 << 10,
	DropEvents:      50,
	DuplicateEvents: 40,
	ReorderEvents:   30,
	QueueReorder:    true,
	SlowLogin:       200 * time.Millisecond,
	SlowDB:          10 * time.Millisecond,
	SlowFactory:     1500 * time.Millisecond,
	SlowConfig:      time.Minute + 5*time.Second,
	Close1011:       0.25,
	LoseWrites:      9,
	DuplicateWrites: 8,
	DataRace:        true,
}

func TestStringFullSet(t *testing.T) {
	const want = "handshake-race=250ms,shared-agent,serial-runs,config-torn,cross-user,cleanup-leak," +
		"memory-leak=16384,drop-events=50,duplicate-events=40,reorder-events=30,queue-reorder," +
		"slow-login=200ms,slow-db=10ms,slow-factory=1.5s,slow-config=1m5s,close-1011=0.25,lose-writes=9,duplicate-writes=8,data-race"
	if got := full.String(); got != want {
		t.Errorf("String() of the full Set = %q; want %q", got, want)
	}
	back, err := fault.Parse(full.String())
	if err != nil || back != full {
		t.Errorf("Parse(%q) = %+v, %v; want %+v", full.String(), fields(back), err, fields(full))
	}
}

func TestStringClean(t *testing.T) {
	if got := (fault.Set{}).String(); got != "none" {
		t.Errorf("Set{}.String() = %q; want %q", got, "none")
	}
}

func TestAny(t *testing.T) {
	tests := []struct {
		name string
		set  fault.Set
		want bool
	}{
		{"zero", fault.Set{}, false},
		{"full", full, true},
		{"handshake-race", fault.Set{HandshakeRace: time.Nanosecond}, true},
		{"shared-agent", fault.Set{SharedAgent: true}, true},
		{"queue-reorder", fault.Set{QueueReorder: true}, true},
		{"serial-runs", fault.Set{SerialRuns: true}, true},
		{"config-torn", fault.Set{ConfigTorn: true}, true},
		{"cross-user", fault.Set{CrossUser: true}, true},
		{"cleanup-leak", fault.Set{CleanupLeak: true}, true},
		{"memory-leak", fault.Set{MemoryLeak: 1}, true},
		{"drop-events", fault.Set{DropEvents: 2}, true},
		{"duplicate-events", fault.Set{DuplicateEvents: 2}, true},
		{"reorder-events", fault.Set{ReorderEvents: 2}, true},
		{"slow-login", fault.Set{SlowLogin: time.Millisecond}, true},
		{"slow-db", fault.Set{SlowDB: time.Millisecond}, true},
		{"slow-factory", fault.Set{SlowFactory: time.Millisecond}, true},
		{"slow-config", fault.Set{SlowConfig: time.Millisecond}, true},
		{"lose-writes", fault.Set{LoseWrites: 2}, true},
		{"duplicate-writes", fault.Set{DuplicateWrites: 2}, true},
		{"close-1011", fault.Set{Close1011: 0.5}, true},
	}
	for _, tt := range tests {
		if got := tt.set.Any(); got != tt.want {
			t.Errorf("Set{%s}.Any() = %t; want %t", tt.name, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"4096", 4096},
		{"1", 1},
		{"512B", 512},
		{"16KiB", 16 << 10},
		{"16kib", 16 << 10},
		{"64KB", 64 << 10},
		{"8K", 8 << 10},
		{"1MiB", 1 << 20},
		{"2MB", 2 << 20},
		{"3m", 3 << 20},
		{" 16 KiB ", 16 << 10},
		{"1024MiB", 1 << 30},
		{"1048576KiB", 1 << 30},
		{"1073741824", 1 << 30},
		{"1GiB", 1 << 30},
	}
	for _, tt := range tests {
		got, err := fault.ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, no error", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	for _, in := range []string{
		"", "   ", "0", "0KiB", "-1", "-16KiB", "KiB", "1.5KiB", "16 K i B",
		"1025MiB", "1048577KiB", "1073741825", "99999999999999999999", "abc", "0x10",
	} {
		want := strconv.Quote(in) + " is not a size between 1 byte and 1GiB"
		got, err := fault.ParseSize(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSize(%q) = %d, %v; want error containing %q", in, got, err, want)
		}
	}
}

// fields shows a Set field by field (a Set itself prints as its String,
// which hides a field that String leaves out).
type fields fault.Set
