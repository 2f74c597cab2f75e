package journey

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gobwas/ws"
)

// upgraded is the outcome of a WebSocket upgrade: the connection and the
// bytes read past the handshake, or the refusal's status and body.
type upgraded struct {
	conn     net.Conn
	rest     []byte // frames the server sent right behind its 101, read with it
	protocol string // the subprotocol the server selected
	status   int    // the reply's status; 0 when there was none
	body     []byte // a refusal's body, at most upgradeBody bytes
}

// upgradeBody bounds the body of a refused upgrade that is kept.
const upgradeBody = 4 << 10

// upgrade dials t's WebSocket through t.Dialer's NetDialContext and TLS
// settings and upgrades it (gobwas/ws's client handshake, which hands back
// what it read past the 101: a server may send its first frame with it).
// hdr and protos go into the request. The dial and the handshake are
// bounded by t.Dialer.HandshakeTimeout and ctx.
func upgrade(ctx context.Context, t *Target, hdr http.Header, protos []string) (upgraded, error) {
	var up upgraded
	u := t.wsu
	if u == nil {
		var err error
		if u, err = url.Parse(t.wsURL); err != nil {
			return up, err
		}
	}
	dctx := ctx
	if d := t.Dialer.HandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	dial := t.Dialer.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(dctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return up, err
	}
	if u.Scheme == "wss" {
		cfg := &tls.Config{}
		if t.Dialer.TLSClientConfig != nil {
			cfg = t.Dialer.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = nc.Close()
			return up, err
		}
		nc = tc
	}
	if d, ok := dctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) }) // unblocks the handshake's I/O
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(hdr), Protocols: protos,
		OnStatusError: func(_ int, _ []byte, r io.Reader) {
			if resp, err := http.ReadResponse(bufio.NewReader(r), nil); err == nil {
				up.body, _ = io.ReadAll(io.LimitReader(resp.Body, upgradeBody))
			}
		}}
	br, hs, err := d.Upgrade(nc, u)
	stopped := stop()
	var se ws.StatusError
	if errors.As(err, &se) {
		up.status = int(se)
	}
	if err == nil && !stopped {
		err = dctx.Err() // the deadline is poisoned: the dial ended as it succeeded
	}
	if err != nil {
		_ = nc.Close()
		if dctx.Err() != nil && up.status == 0 {
			err = dctx.Err()
		}
		if br != nil {
			ws.PutReader(br)
		}
		return up, err
	}
	_ = nc.SetDeadline(time.Time{})
	up.conn, up.status, up.protocol = nc, http.StatusSwitchingProtocols, hs.Protocol
	if br != nil {
		up.rest = make([]byte, br.Buffered())
		_, _ = io.ReadFull(br, up.rest)
		ws.PutReader(br)
	}
	return up, nil
}
