package journey

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
)

// plainReplies are replies as targets send them: the fast path must take
// each whole one.
var plainReplies = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer-Timing: db;dur=0.5, app;dur=1.2\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\nContent-Length: 18\r\n\r\n{\"access_token\":1}",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello",
	"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nx-custom_name:  padded value\t \r\nX-Twice: a\r\nx-twice: b\r\n\r\n",
	"HTTP/1.1 503 \r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\n",
	"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
	"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
}

// otherReplies need net/http's reader: the fast path must leave each to it.
var otherReplies = []string{
	"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",                            // not HTTP/1.1
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", // chunked
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",           // no length
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",       // two lengths
	"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",                           // not digits
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",       // net/http drops the header
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx",        // net/http adds Cache-Control
	"HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\nContent-Length: 1\r\n\r\nx",    // a folded line
	"HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 1\r\n\r\nx",                  // not a token
	"HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9\r\nContent-Length: 1\r\n\r\nx",        // bytes outside ASCII
	"HTTP/1.1 204 No Content\r\nContent-Length: 1\r\n\r\n",                     // no body whatever it says
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nx", // over bodyMax
}

func TestFastReply(t *testing.T) {
	for _, in := range plainReplies {
		if !fastReplyAgrees(t, []byte(in), false) {
			t.Errorf("fastReply(%q) left it to net/http; want it taken", in)
		}
	}
	for _, in := range otherReplies {
		if fastReplyAgrees(t, []byte(in), false) {
			t.Errorf("fastReply(%q) took it; want it left to net/http", in)
		}
	}
	// Cut short, a plain reply is not whole yet; at the peer's close, net/http's error.
	in := []byte(plainReplies[0])
	end := bytes.Index(in, []byte("\r\n\r\n"))
	for cut := end + 4; cut < len(in); cut++ {
		if _, ok, handled := fastReply(in[:cut], end, false, 1<<20); !handled || ok {
			t.Fatalf("fastReply of %d of %d bytes: handled %v, whole %v; want handled, not whole yet", cut, len(in), handled, ok)
		}
		if _, _, handled := fastReply(in[:cut], end, true, 1<<20); handled {
			t.Fatalf("fastReply of %d of %d bytes at the peer's close: handled; want net/http's error", cut, len(in))
		}
	}
}

// fastReplyAgrees reports whether fastReply took in whole; when it did,
// parseSlow (http.ReadResponse) must read in alike.
func fastReplyAgrees(t *testing.T, in []byte, eof bool) bool {
	t.Helper()
	const bodyMax = 4096
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	fr, ok, handled := fastReply(in, end, eof, bodyMax)
	if !handled || !ok {
		return false
	}
	sr, ok, err := parseSlow(in, end, eof, bodyMax)
	if err != nil || !ok {
		t.Fatalf("fastReply took %q; net/http reads it as ok %v, %v", in, ok, err)
	}
	f, s := fr.replyHead, sr.replyHead
	if f.header != nil {
		t.Fatalf("fastReply(%q) kept net/http's header, not its fields", in)
	}
	if f.code != s.code || f.status != s.status || f.close != s.close || !reflect.DeepEqual(f.httpHeader(), s.header) ||
		!bytes.Equal(fr.body, sr.body) || (fr.body == nil) != (sr.body == nil) || fr.used != sr.used {
		t.Fatalf("fastReply(%q) = %d %q close %v %v body %#v used %d; net/http reads %d %q close %v %v body %#v used %d", in,
			f.code, f.status, f.close, f.httpHeader(), fr.body, fr.used, s.code, s.status, s.close, s.header, sr.body, sr.used)
	}
	for name, vs := range s.header {
		if f.get(name) != vs[0] || !slices.Equal(f.values(name, nil), vs) {
			t.Fatalf("fastReply(%q): field %s reads %q / %q; net/http's %q", in, name, f.get(name), f.values(name, nil), vs)
		}
	}
	return true
}

// FuzzFastReply: whatever the fast path takes, net/http reads alike.
func FuzzFastReply(f *testing.F) {
	for _, s := range append(plainReplies, otherReplies...) {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, eof bool) { fastReplyAgrees(t, in, eof) })
}

// BenchmarkParseReply reads a login's reply and a 101 by the fast path
// and by net/http's reader (parseSlow), side by side.
func BenchmarkParseReply(b *testing.B) {
	for _, c := range []struct {
		name string
		in   string
	}{{"login", plainReplies[0]}, {"101", plainReplies[1]}} {
		in := []byte(c.in)
		end := bytes.Index(in, []byte("\r\n\r\n"))
		b.Run(c.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := parseOne(in, false, 1<<20); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(c.name+"/net_http", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := parseSlow(in, end, false, 1<<20); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
