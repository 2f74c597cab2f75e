package auth

import (
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// ClientOf names the client of r for the failed-login limits: the remote
// IP address, IPv6 addresses by their /64 prefix (what one subscriber
// usually holds). X-Forwarded-For and similar headers are not believed, for
// any client can send them; behind a proxy every client is the proxy.
func ClientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// recent is a bounded set of strings, kept as 64-bit keyed hashes: it
// remembers at least the last max/2 it was given and at most max, in two
// generations. A lookup that finds a member of the old generation moves it
// to the new one, so members in use stay. Safe for concurrent use.
type recent struct {
	seed maphash.Seed
	max  int

	mu       sync.Mutex
	cur, old map[uint64]struct{}
}

func newRecent(max int) *recent {
	return &recent{seed: maphash.MakeSeed(), max: max, cur: map[uint64]struct{}{}}
}

func (r *recent) hash(parts []string) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// add remembers the tuple parts.
func (r *recent) add(parts ...string) {
	k := r.hash(parts)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(k)
}

func (r *recent) put(k uint64) {
	if len(r.cur) >= r.max/2 {
		r.old, r.cur = r.cur, make(map[uint64]struct{}, r.max/2)
	}
	r.cur[k] = struct{}{}
}

// has reports whether the tuple parts is remembered.
func (r *recent) has(parts ...string) bool {
	k := r.hash(parts)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cur[k]; ok {
		return true
	}
	if _, ok := r.old[k]; ok {
		delete(r.old, k)
		r.put(k)
		return true
	}
	return false
}
