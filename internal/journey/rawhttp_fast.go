package journey

import (
	"bytes"
	"net/http"
	"strconv"
)

// Most replies a target sends the raw path are in one plain form: a
// 101, or a status with one Content-Length and its body, with plain
// header lines. fastReply reads those without net/http's reader (a
// bufio.Reader, a textproto.Reader and their copies per reply); any other
// reply, and any line it is unsure of, goes to http.ReadResponse, so that
// what a reply reads as never depends on which of the two read it:
// FuzzFastReply checks that against http.ReadResponse for every reply
// the fast path takes.

// fastReply parses the reply whose head ends at end (the index of its
// "\r\n\r\n") as parseOne would; handled is false when the reply is not
// in the plain form, and parseOne must read it.
func fastReply(in []byte, end int, eof bool, bodyMax int) (r parsedReply, ok, handled bool) {
	head := in[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	code, status, good := statusLine(line)
	if !good {
		return r, false, false
	}
	// The names and values are pieces of one string of the head (but for
	// a name not written canonically); nothing else is made per field.
	r.code, r.status = code, status
	text := string(rest)
	length := int64(-1)
	for at := 0; at < len(text); {
		l := rest[at:]
		if k := bytes.Index(l, []byte("\r\n")); k >= 0 {
			l = l[:k]
		}
		lineAt := at
		at += len(l) + 2
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !isToken(l[:colon]) || r.n == maxFastFields {
			return r, false, false
		}
		raw := l[colon+1:]
		v := trimSpaceTab(raw)
		if !plainValue(v) {
			return r, false, false
		}
		key := canonicalKey(l[:colon], text[lineAt:lineAt+colon])
		switch key {
		case "Content-Length":
			if length >= 0 || len(v) == 0 || len(v) > 18 || !digitsOnly(v) {
				return r, false, false
			}
			length, _ = strconv.ParseInt(string(v), 10, 64)
		case "Transfer-Encoding", "Trailer", "Pragma": // net/http's own handling
			return r, false, false
		case "Connection":
			if containsFold(v, "close") {
				return r, false, false
			}
		}
		vAt := lineAt + colon + 1 + len(raw) - len(bytes.TrimLeft(raw, " \t"))
		r.fields[r.n] = headerField{name: key, value: text[vAt : vAt+len(v)]}
		r.n++
	}
	used := end + 4
	switch {
	case code == http.StatusSwitchingProtocols:
		if length >= 0 {
			return r, false, false
		}
	case length < 0 || length >= int64(bodyMax):
		return r, false, false
	case int64(len(in)-used) < length:
		if eof {
			return r, false, false // net/http's error
		}
		return r, false, true // not whole yet
	default:
		r.body = bytes.Clone(in[used : used+int(length)]) // empty, not nil, as parseSlow's
		used += int(length)
	}
	r.used = used
	return r, true, true
}

// statusLine reads "HTTP/1.1 NNN reason" for the statuses the fast path
// takes: 101, and 2xx to 5xx but 204 and 304.
func statusLine(line []byte) (code int, status string, ok bool) {
	const proto = "HTTP/1.1 "
	if len(line) < len(proto)+3 || string(line[:len(proto)]) != proto {
		return 0, "", false
	}
	s := line[len(proto):]
	if !digitsOnly(s[:3]) || len(s) > 3 && s[3] != ' ' || !plainValue(s) {
		return 0, "", false
	}
	code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if code != http.StatusSwitchingProtocols && (code < 200 || code > 599 || code == 204 || code == 304) {
		return 0, "", false
	}
	for _, known := range [...]string{"200 OK", "101 Switching Protocols", "201 Created"} {
		if string(s) == known {
			return code, known, true
		}
	}
	return code, string(s), true
}

// containsFold reports whether b holds lower (lower-case ASCII) in any
// case, without a lower-cased copy of b.
func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		j := 0
		for ; j < len(lower) && b[i+j]|0x20 == lower[j]; j++ {
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// isToken reports whether b is an RFC 9110 token (a header's name).
func isToken(b []byte) bool {
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return len(b) > 0
}

var tokenByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0
	}
	return t
}()

// plainValue reports whether b has only visible ASCII, spaces and tabs.
func plainValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

func digitsOnly(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func trimSpaceTab(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey of a token, the
// common names without a new string, and a name already canonical as
// same (name's own text).
func canonicalKey(name []byte, same string) string {
	var buf [64]byte
	if len(name) > len(buf) {
		return http.CanonicalHeaderKey(string(name))
	}
	c := buf[:len(name)]
	upper := true
	for i, b := range name {
		switch {
		case upper && 'a' <= b && b <= 'z':
			b -= 'a' - 'A'
		case !upper && 'A' <= b && b <= 'Z':
			b += 'a' - 'A'
		}
		c[i] = b
		upper = b == '-'
	}
	if k, ok := commonKeys[string(c)]; ok {
		return k
	}
	if string(c) == same {
		return same
	}
	return string(c)
}

var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Content-Length", "Content-Type", "Date", "Server", "Server-Timing", "Connection", "Upgrade",
		"Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Transfer-Encoding", "Trailer", "Pragma",
		"Cache-Control", "Vary", "X-Content-Type-Options", "Retry-After", "Keep-Alive"} {
		m[k] = k
	}
	return m
}()
