package suite

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// virtualUserPrefix begins [VirtualUserName].
const virtualUserPrefix = "virtual user "

// VirtualUserName is how a [journey.ForeignFunc] names the owner of
// foreign data when the owner is one of goldenpath's virtual users
// ("virtual user 3"); the scenario runner records that owner on the
// journey's samples as that virtual user.
func VirtualUserName(vu int) string { return virtualUserPrefix + strconv.Itoa(vu) }

// foreignOwners collects the owners a journey's Foreign hook found.
type foreignOwners struct {
	mu     sync.Mutex
	owners []string
}

// watch wraps fn to collect the owners it finds; a nil fn stays nil.
func (f *foreignOwners) watch(fn journey.ForeignFunc) journey.ForeignFunc {
	if fn == nil {
		return nil
	}
	return func(frame []byte) (string, bool) {
		owner, found := fn(frame)
		if found {
			f.mu.Lock()
			if !slices.Contains(f.owners, owner) {
				f.owners = append(f.owners, owner)
			}
			f.mu.Unlock()
		}
		return owner, found
	}
}

// users returns the users one journey's samples concern: the virtual user
// that ran it, with the target's id for it when the journey learnt it;
// for a sample of foreign data, then the owners of that data.
func (f *foreignOwners) users(it load.Iteration, res *journey.Result, foreignData bool) []results.User {
	self := results.VirtualUser(it.VU)
	self.ID = res.UserID
	out := []results.User{self}
	if !foreignData {
		return out
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.owners {
		u := results.User{ID: o, Foreign: true}
		if n, ok := strings.CutPrefix(o, virtualUserPrefix); ok {
			if vu, err := strconv.Atoi(n); err == nil {
				u = results.VirtualUser(vu)
				u.Foreign = true
			}
		}
		out = append(out, u)
	}
	return out
}
