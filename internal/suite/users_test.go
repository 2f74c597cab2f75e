package suite

import (
	"reflect"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// A journey's samples name its virtual user and that user's id; a sample
// of foreign data names the owners the Foreign hook found, once each.
func TestSampleUsers(t *testing.T) {
	var f foreignOwners
	scan := f.watch(func(frame []byte) (string, bool) {
		switch string(frame) {
		case "nonce of 3":
			return VirtualUserName(3), true
		case "id of someone":
			return "u_9f2c", true
		}
		return "", false
	})
	for _, frame := range []string{"nonce of 3", "mine", "id of someone", "nonce of 3"} {
		scan([]byte(frame))
	}
	it, res := load.Iteration{VU: 7}, &journey.Result{UserID: "u_5bb7"}
	self := results.VirtualUser(7)
	self.ID = "u_5bb7"
	three := results.VirtualUser(3)
	three.Foreign = true
	if got, want := f.users(it, res, false), []results.User{self}; !reflect.DeepEqual(got, want) {
		t.Errorf("users of an error sample = %+v; want %+v", got, want)
	}
	if got, want := f.users(it, res, true), []results.User{self, three, {ID: "u_9f2c", Foreign: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("users of a foreign_data sample = %+v; want %+v", got, want)
	}
	if (&foreignOwners{}).watch(nil) != nil {
		t.Errorf("watch(nil) is a hook; want nil, so the oracle scans nothing")
	}
}
