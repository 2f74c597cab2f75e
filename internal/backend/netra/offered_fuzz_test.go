package netra

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzOfferedToken reads the token of an upgrade from its Authorization
// header and Sec-WebSocket-Protocol entries. The subprotocol selected is
// one the client offered, or none (RFC 6455); the upgrade is usable when
// nothing was offered or something was selected; a bearer header wins;
// and a JWT offered as "jwt-auth, jwt.<base64url>" is read back whole.
func FuzzOfferedToken(f *testing.F) {
	const jwt = "aaaaaaaa.bbbbbbbb.cccccccc"
	f.Add("", "jwt-auth, jwt."+base64.RawURLEncoding.EncodeToString([]byte(jwt)), jwt)
	f.Add("Bearer "+jwt, "jwt-auth, jwt.other", "x.y.z")
	f.Add("", "bearer, bearer."+jwt, "a.b")
	f.Add("bEaReR  \t", "chat, superchat,,", "")
	f.Add("", "jwt.", ".")
	f.Fuzz(func(t *testing.T, authorization, protocols, token string) {
		r, _ := http.NewRequest(http.MethodGet, "/ws", nil)
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
		}
		if protocols != "" {
			r.Header["Sec-Websocket-Protocol"] = []string{protocols}
		}
		got, selected, usable := offeredToken(r)
		var entries []string
		for p := range strings.SplitSeq(protocols, ",") {
			if p = strings.TrimSpace(p); p != "" {
				entries = append(entries, p)
			}
		}
		if selected != "" && !slices.Contains(entries, selected) {
			t.Fatalf("offeredToken(%q, %q) selected %q, which was not offered", authorization, protocols, selected)
		}
		if usable != (len(entries) == 0 || selected != "") {
			t.Fatalf("offeredToken(%q, %q) = usable %t with %d entries and %q selected", authorization, protocols, usable, len(entries), selected)
		}
		if scheme, rest, ok := strings.Cut(strings.TrimSpace(authorization), " "); ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) != "" && got != strings.TrimSpace(rest) {
			t.Fatalf("offeredToken(%q, %q) = token %q; want the header's %q", authorization, protocols, got, strings.TrimSpace(rest))
		}
		if strings.Count(token, ".") != 2 || strings.TrimSpace(token) != token {
			return
		}
		r, _ = http.NewRequest(http.MethodGet, "/ws", nil)
		r.Header.Set("Sec-WebSocket-Protocol", "jwt-auth, jwt."+base64.RawURLEncoding.EncodeToString([]byte(token)))
		if got, selected, usable := offeredToken(r); got != token || selected != "jwt-auth" || !usable {
			t.Fatalf("offeredToken(jwt-auth, jwt.base64url(%q)) = %q, %q, %t; want the token, jwt-auth, usable", token, got, selected, usable)
		}
	})
}
