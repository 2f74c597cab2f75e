//go:build !linux

package journey

import (
	"errors"
	"net"
)

// poller is Linux's epoll loop; elsewhere every connection has a reader
// goroutine (wire.go).
type poller struct{}

func pollable() bool                     { return false }
func pollerFor() *poller                 { return nil }
func (p *poller) add(int, *wsconn) error { return errors.ErrUnsupported }
func (p *poller) remove(int)             {}
func detach(*net.TCPConn) (int, error)   { return -1, errors.ErrUnsupported }
func closeFD(int)                        {}
func (c *wsconn) send([]byte) error      { return errors.ErrUnsupported }
func (p *poller) handOver(int, *wsconn)  {}
