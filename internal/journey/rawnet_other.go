//go:build !linux

package journey

import (
	"errors"
	"net/url"
	"time"
)

// rawTarget is Linux's raw path (rawnet_linux.go); elsewhere every
// journey takes net/http and the Dialer.
type rawTarget struct {
	host, prefix, wsPath string
	timeout              time.Duration
}

func rawFor(*Target) *rawTarget                                      { return nil }
func newRawTarget(*Target, *url.URL, bool, time.Duration) *rawTarget { return nil }
func closeRaw(*poller, int)                                          {}

func (rt *rawTarget) do(_ *auser, _ []byte, _ bool, _ time.Duration, done func(reply)) {
	done(reply{err: errors.ErrUnsupported, fd: -1})
}

// exchangeRef is Linux's exchange under way; elsewhere there is none.
type exchangeRef struct{}

func (exchangeRef) live() bool       { return false }
func (exchangeRef) until() time.Time { return time.Time{} }
func (exchangeRef) fail(error)       {}

// localPort is never asked for here: the raw path does not run.
func localPort(int) int { return 0 }
