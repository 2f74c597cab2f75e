package journey

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func TestParseReply(t *testing.T) {
	okReply := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
	untilClose := "HTTP/1.1 200 OK\r\n\r\nhello"
	up := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
	for _, tc := range []struct {
		name   string
		in     string
		eof    bool
		max    int
		ok     bool
		err    bool
		body   string
		used   int
		closes bool
	}{
		{name: "whole, with a length", in: okReply, ok: true, body: "hello", used: len(okReply)},
		{name: "head only: the body is awaited", in: okReply[:len(okReply)-5]},
		{name: "body cut short", in: okReply[:len(okReply)-2]},
		{name: "head cut short", in: okReply[:10]},
		{name: "head cut short by the peer", in: okReply[:10], eof: true, err: true},
		{name: "body cut short by the peer", in: okReply[:len(okReply)-2], eof: true, err: true},
		{name: "chunked, whole", in: chunked, ok: true, body: "hello", used: len(chunked)},
		{name: "chunked, its last chunk awaited", in: chunked[:len(chunked)-5]},
		{name: "no length: read until the peer shuts", in: untilClose},
		{name: "no length, the peer shut", in: untilClose, eof: true, ok: true, body: "hello", used: len(untilClose), closes: true},
		{name: "a 101 has no body: what follows is the socket's", in: up + "\x81\x02hi", ok: true, used: len(up)},
		{name: "two replies: the first is taken", in: okReply + okReply, ok: true, body: "hello", used: len(okReply)},
		{name: "a body over the bound is cut, its connection not reused", in: okReply, max: 3, ok: true, body: "hel", used: len(okReply) - 2, closes: true},
		{name: "interim replies before the reply are skipped", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okReply,
			ok: true, body: "hello", used: len("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okReply)},
		{name: "an interim reply, the reply awaited", in: "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n"},
		{name: "more interim replies than net/http takes", in: strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + okReply, err: true},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", err: true},
		{name: "a head over 64 KiB", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHead), err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = maxBody
			}
			r, ok, err := parseReply([]byte(tc.in), tc.eof, max)
			if (err != nil) != tc.err || ok != tc.ok {
				t.Fatalf("parseReply = ok %v, err %v; want ok %v, an error %v", ok, err, tc.ok, tc.err)
			}
			if !ok {
				return
			}
			if string(r.body) != tc.body || r.used != tc.used || r.close != tc.closes {
				t.Fatalf("body %q used %d close %v; want %q, %d, %v", r.body, r.used, r.close, tc.body, tc.used, tc.closes)
			}
		})
	}
}

func TestParseReplyAtEveryCut(t *testing.T) {
	in := "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"a\r\n{\"error\":{\r\n12\r\n\"code\":\"forbidden\"\r\n2\r\n}}\r\n0\r\n\r\n"
	for cut := range len(in) {
		if _, ok, err := parseReply([]byte(in[:cut]), false, maxBody); ok || err != nil {
			t.Fatalf("cut at %d: ok %v, err %v; want to wait for more", cut, ok, err)
		}
	}
	r, ok, err := parseReply([]byte(in), false, maxBody)
	if !ok || err != nil || string(r.body) != `{"error":{"code":"forbidden"}}` || r.code != 403 {
		t.Fatalf("whole: ok %v err %v status %v body %q", ok, err, r.code, r.body)
	}
}

func TestCheckUpgrade(t *testing.T) {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	good := func() *http.Response {
		h := http.Header{}
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "keep-alive, Upgrade")
		h.Set("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") // RFC 6455's own example
		return &http.Response{StatusCode: 101, Header: h}
	}
	for _, tc := range []struct {
		name   string
		edit   func(h http.Header)
		protos []string
		want   error
	}{
		{name: "valid", edit: func(http.Header) {}},
		{name: "no Upgrade", edit: func(h http.Header) { h.Del("Upgrade") }, want: ws.ErrHandshakeBadUpgrade},
		{name: "Connection without upgrade", edit: func(h http.Header) { h.Set("Connection", "close") }, want: ws.ErrHandshakeBadConnection},
		{name: "a wrong accept", edit: func(h http.Header) { h.Set("Sec-WebSocket-Accept", "AAAA") }, want: ws.ErrHandshakeBadSecAccept},
		{name: "an extension not offered", edit: func(h http.Header) { h.Set("Sec-WebSocket-Extensions", "permessage-deflate") }, want: ws.ErrHandshakeBadExtensions},
		{name: "a subprotocol not offered", edit: func(h http.Header) { h.Set("Sec-WebSocket-Protocol", "x") }, protos: []string{"a"}, want: ws.ErrHandshakeBadSubProtocol},
		{name: "a subprotocol offered", edit: func(h http.Header) { h.Set("Sec-WebSocket-Protocol", "a") }, protos: []string{"b", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(r.Header)
			// As net/http reads a reply, and as the fast path does (its fields in order).
			slow := &replyHead{code: r.StatusCode, header: r.Header}
			fast := &replyHead{code: r.StatusCode}
			for _, name := range slices.Sorted(maps.Keys(r.Header)) {
				for _, v := range r.Header[name] {
					fast.fields[fast.n] = headerField{name: name, value: v}
					fast.n++
				}
			}
			for _, h := range []*replyHead{slow, fast} {
				if err := checkUpgrade(h, key, tc.protos); !errors.Is(err, tc.want) {
					t.Fatalf("checkUpgrade (net/http's header %v) = %v, want %v", h.header != nil, err, tc.want)
				}
			}
		})
	}
}

func TestUpgradeRequest(t *testing.T) {
	b, key, err := upgradeRequest("h:1", "/p/ws", "Bearer tok", []string{"jwt-auth", "jwt.x"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(newBufReader(string(b)))
	if err != nil {
		t.Fatalf("the request does not parse: %v\n%s", err, b)
	}
	if req.Host != "h:1" || req.URL.Path != "/p/ws" || req.Header.Get("Sec-WebSocket-Key") != key ||
		req.Header.Get("Sec-WebSocket-Version") != "13" || req.Header.Get("Authorization") != "Bearer tok" ||
		req.Header.Get("Sec-WebSocket-Protocol") != "jwt-auth, jwt.x" || !headerHasToken(req.Header, "Connection", "upgrade") {
		t.Fatalf("request:\n%s", b)
	}
	// A token from the target's own reply with a line break would forge a header: it is not sent.
	for _, bad := range []string{"tok\r\nX-Forged: 1", "tok\n", "a\x00b"} {
		if _, _, err := upgradeRequest("h", "/ws", "Bearer "+bad, nil); err != errBadHeaderValue {
			t.Errorf("token %q: err %v, want errBadHeaderValue", bad, err)
		}
		if _, _, err := upgradeRequest("h", "/ws", "", []string{"jwt." + bad}); err != errBadHeaderValue {
			t.Errorf("subprotocol %q: err %v, want errBadHeaderValue", bad, err)
		}
	}
	p, err := http.ReadRequest(newBufReader(string(postJSON("h:1", "/api/auth/login", []byte(`{"a":1}`)))))
	if err != nil || p.Method != http.MethodPost || p.ContentLength != 7 || p.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("postJSON: %v %+v", err, p)
	}
	if body, _ := io.ReadAll(p.Body); string(body) != `{"a":1}` {
		t.Fatalf("postJSON body %q", body)
	}
}

func newBufReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// acceptsKey is acceptOf's comparison without its strings, for keys of
// every length (a key too long for its buffer falls back to acceptOf).
func TestAcceptsKey(t *testing.T) {
	for _, key := range []string{"dGhlIHNhbXBsZSBub25jZQ==", "", "k", strings.Repeat("x", 28), strings.Repeat("y", 29), strings.Repeat("z", 200)} {
		if !acceptsKey(acceptOf(key), key) {
			t.Errorf("key %q: its own accept is refused", key)
		}
		if acceptsKey(acceptOf(key+"!"), key) || acceptsKey("", key) {
			t.Errorf("key %q: another accept passes", key)
		}
	}
	if !acceptsKey("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "dGhlIHNhbXBsZSBub25jZQ==") {
		t.Error("RFC 6455's example fails")
	}
}
