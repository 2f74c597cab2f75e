//go:build !linux

package journey

import (
	"context"
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

func (rt *rawTarget) do(_ context.Context, _ []byte, _ bool, _ time.Duration, done func(reply)) {
	done(reply{err: errors.ErrUnsupported, fd: -1})
}

// localPort is never asked for here: the raw path does not run.
func localPort(int) int { return 0 }
