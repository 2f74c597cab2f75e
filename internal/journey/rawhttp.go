package journey

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"
)

// The built-in journey's HTTP/1.1 exchanges on the raw path (rawnet_linux.go)
// are written here and read back with net/http's own reply parser: only
// the transport is the package's.

// errShort is what replyReader returns when the reply read so far is not
// whole: parsing starts again when more arrives.
var errShort = errors.New("journey: reply not whole yet")

// shortReader hands out b, then errShort (or io.EOF once the peer shut
// its side: eof). starved records that it ran out before the peer shut:
// whatever error the parser then made of it (net/http turns some into
// its own "unexpected EOF"), the reply is only not whole yet.
type shortReader struct {
	b       []byte
	eof     bool
	starved bool
}

func (r *shortReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		r.starved = true
		return 0, errShort
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// parsedReply is one whole HTTP reply: its head, its body (at most
// bodyMax bytes kept), and how many bytes of the input it took.
type parsedReply struct {
	replyHead
	body []byte
	used int
}

// replyHead is a reply's status line and header fields. The fast path
// (fastReply) keeps its fields in order in fields; a reply read by
// net/http keeps net/http's Header. Either way a field's name is in
// textproto's canonical form ("Sec-Websocket-Accept").
type replyHead struct {
	code   int
	status string // "200 OK", as http.Response.Status
	close  bool   // the connection must not carry another exchange (http.Response.Close)
	n      int
	fields [maxFastFields]headerField
	header http.Header // parseSlow's; nil for the fast path's
}

// headerField is one header line of a reply, its name canonical.
type headerField struct{ name, value string }

// maxFastFields bounds the header lines the fast path takes; a reply
// with more is read by net/http.
const maxFastFields = 16

// get is the first value of the field called name (canonical), or "".
func (h *replyHead) get(name string) string {
	if h.header != nil {
		if vs := h.header[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	for _, f := range h.fields[:h.n] {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// values appends the values of the field called name (canonical) to dst.
func (h *replyHead) values(name string, dst []string) []string {
	if h.header != nil {
		return append(dst, h.header[name]...)
	}
	for _, f := range h.fields[:h.n] {
		if f.name == name {
			dst = append(dst, f.value)
		}
	}
	return dst
}

// httpHeader is the head's fields as net/http's Header.
func (h *replyHead) httpHeader() http.Header {
	if h.header != nil {
		return h.header
	}
	hdr := http.Header{}
	for _, f := range h.fields[:h.n] {
		hdr[f.name] = append(hdr[f.name], f.value)
	}
	return hdr
}

// parseReply parses one HTTP/1.1 reply from in, read so far, after the
// interim (1xx but 101) replies before it, at most maxInterim of them, as
// net/http's client skips them; eof is the peer having shut its side. It returns ok false while the reply is not
// whole (read more, call again), and an error when it can never be. A
// reply to an upgrade (101) has no body: the bytes after its head are the
// WebSocket's. A body longer than bodyMax ends the parse at bodyMax (its
// connection is not reused).
func parseReply(in []byte, eof bool, bodyMax int) (r parsedReply, ok bool, err error) {
	skipped := 0
	for range maxInterim + 1 {
		r, ok, err = parseOne(in[skipped:], eof, bodyMax)
		if !ok || err != nil || r.code/100 != 1 || r.code == http.StatusSwitchingProtocols {
			r.used += skipped
			return r, ok, err
		}
		skipped += r.used // an interim reply: the reply follows it
	}
	return parsedReply{}, false, errors.New("journey: more than " + strconv.Itoa(maxInterim) + " interim (1xx) replies")
}

// maxInterim bounds the interim replies before a reply, as net/http does.
const maxInterim = 5

// parseOne parses the first reply in in (see parseReply).
func parseOne(in []byte, eof bool, bodyMax int) (r parsedReply, ok bool, err error) {
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		if eof {
			return r, false, io.ErrUnexpectedEOF
		}
		if len(in) > maxHead {
			return r, false, errors.New("journey: reply head over " + strconv.Itoa(maxHead) + " bytes")
		}
		return r, false, nil
	}
	if r, ok, handled := fastReply(in, end, eof, bodyMax); handled {
		return r, ok, nil
	}
	return parseSlow(in, end, eof, bodyMax)
}

// parseSlow is parseOne by http.ReadResponse, for any reply.
func parseSlow(in []byte, end int, eof bool, bodyMax int) (r parsedReply, ok bool, err error) {
	sr := &shortReader{b: in, eof: eof}
	br := bufio.NewReaderSize(sr, max(end+4, 16))
	resp, err := http.ReadResponse(br, nil)
	switch {
	case err != nil && sr.starved:
		return r, false, nil
	case err != nil:
		return r, false, err
	}
	r.code, r.status, r.header = resp.StatusCode, resp.Status, resp.Header
	if resp.StatusCode/100 == 1 { // 101 or interim: no body
		r.used = len(in) - len(sr.b) - br.Buffered()
		return r, true, nil
	}
	var body bytes.Buffer
	_, err = io.Copy(&body, io.LimitReader(resp.Body, int64(bodyMax)))
	switch {
	case err != nil && sr.starved && body.Len() < bodyMax:
		return r, false, nil
	case err != nil && sr.starved:
		resp.Close = true // a body over bodyMax: the rest is not read
	case err != nil:
		return r, false, err
	}
	if body.Len() >= bodyMax {
		resp.Close = true
	}
	r.close = resp.Close
	r.body = body.Bytes()
	r.used = len(in) - len(sr.b) - br.Buffered()
	return r, true, nil
}

// reply is the outcome of an exchange of the raw path: the reply, or the
// error that ended it. An upgrade's 101 hands its socket over: fd and p,
// and the bytes read past the reply (rest); the receiver owns them.
type reply struct {
	parsedReply
	at   time.Time     // when the reply's last byte arrived (rxbuf.read)
	lag  time.Duration // how much later the loop read it
	err  error
	fd   int
	p    *poller
	rest []byte
}

// maxHead bounds a reply's head.
const maxHead = 64 << 10

// validHeaderValue reports whether v can go in a header: no control bytes
// but tab (a token with a line break would forge headers).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// errBadHeaderValue is a value, from the target's own replies, that
// cannot be sent back in a header.
var errBadHeaderValue = errors.New("journey: a header value holds control bytes (e.g. a token with a line break); not sent")

// postJSON is the bytes of a POST of body to path with host.
func postJSON(host, path string, body []byte) []byte {
	b := make([]byte, 0, 128+len(host)+len(path)+len(body))
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// upgradeRequest is the bytes of a WebSocket upgrade of path on host
// (RFC 6455 section 4.1) and the key whose accept the reply must carry;
// auth (an Authorization header's value, if not empty) and protos go
// into it.
func upgradeRequest(host, path, auth string, protos []string) ([]byte, string, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	b := make([]byte, 0, 256)
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if len(protos) > 0 {
		p := strings.Join(protos, ", ")
		if !validHeaderValue(p) {
			return nil, "", errBadHeaderValue
		}
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, p...)
		b = append(b, "\r\n"...)
	}
	if auth != "" {
		if !validHeaderValue(auth) {
			return nil, "", errBadHeaderValue
		}
		b = append(b, "Authorization: "...)
		b = append(b, auth...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...), key, nil
}

// checkUpgrade judges a 101 reply as RFC 6455 section 4.1 says a client
// must: Upgrade websocket, Connection upgrade, the key's accept, no
// extension and a subprotocol only among those offered. The errors are
// gobwas/ws's, as the dialer's own handshake returns them.
func checkUpgrade(h *replyHead, key string, protos []string) error {
	var conn [4]string
	switch {
	case !strings.EqualFold(strings.TrimSpace(h.get("Upgrade")), "websocket"):
		return ws.ErrHandshakeBadUpgrade
	case !hasToken(h.values("Connection", conn[:0]), "upgrade"):
		return ws.ErrHandshakeBadConnection
	case !acceptsKey(h.get("Sec-Websocket-Accept"), key):
		return ws.ErrHandshakeBadSecAccept
	case h.get("Sec-Websocket-Extensions") != "":
		return ws.ErrHandshakeBadExtensions
	}
	if p := h.get("Sec-Websocket-Protocol"); p != "" {
		for _, o := range protos {
			if o == p {
				return nil
			}
		}
		return ws.ErrHandshakeBadSubProtocol
	}
	return nil
}

// headerHasToken reports whether a comma-separated header has token.
func headerHasToken(h http.Header, name, token string) bool {
	return hasToken(h.Values(name), token)
}

// hasToken reports whether comma-separated values have token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// acceptsKey reports whether accept is acceptOf(key), making no string.
func acceptsKey(accept, key string) bool {
	const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	var in [64]byte
	if len(key)+len(guid) > len(in) {
		return accept == acceptOf(key)
	}
	n := copy(in[:], key)
	n += copy(in[n:], guid)
	sum := sha1.Sum(in[:n])
	var out [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(out[:], sum[:])
	return accept == string(out[:])
}

// acceptOf is the Sec-WebSocket-Accept of key.
func acceptOf(key string) string {
	s := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(s[:])
}
