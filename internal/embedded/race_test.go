package embedded

import (
	"strings"
	"testing"
)

func TestReadRacesDeduplicates(t *testing.T) {
	races, err := ReadRaces("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(races) != 2 {
		t.Fatalf("ReadRaces found %d distinct races; want 2 (three reports, two of one place)", len(races))
	}
	want := []struct {
		sig   string
		count int
	}{
		{"Read at hub.(*conn).startRun.func1 / Previous write at hub.(*conn).startRun.func1", 2},
		{"Write at config.(*Store).Replace / Previous read at config.(*Store).Snapshot", 1},
	}
	for i, w := range want {
		if races[i].Signature != w.sig || races[i].Count != w.count {
			t.Errorf("race %d = %q x%d; want %q x%d", i, races[i].Signature, races[i].Count, w.sig, w.count)
		}
		if !strings.Contains(races[i].Report, "Previous") {
			t.Errorf("race %d report lacks its stacks: %q", i, races[i].Report)
		}
	}
}

func TestReadRacesEmptyDir(t *testing.T) {
	races, err := ReadRaces(t.TempDir())
	if err != nil || len(races) != 0 {
		t.Errorf("ReadRaces(empty dir) = %v, %v; want none, no error", races, err)
	}
}

func TestRaceEnv(t *testing.T) {
	if got := RaceEnv("/tmp/x"); !strings.HasPrefix(got, "GORACE=log_path=/tmp/x/race ") || !strings.Contains(got, "halt_on_error=0") {
		t.Errorf("RaceEnv = %q; want log_path under the dir and halt_on_error=0", got)
	}
}
