package netra

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestOfferedToken(t *testing.T) {
	const jwt = "aaaaaaaa.bbbbbbbb.cccccccc"
	b64 := base64.RawURLEncoding.EncodeToString([]byte(jwt))
	padded := base64.URLEncoding.EncodeToString([]byte(jwt))
	for _, tc := range []struct {
		name          string
		auth          string
		protocols     string
		token, chosen string
		usable        bool
	}{
		{"no token at all", "", "", "", "", true},
		{"the header", "Bearer " + jwt, "", jwt, "", true},
		{"the recommended pair, base64url", "", "jwt-auth, jwt." + b64, jwt, "jwt-auth", true},
		{"padded base64url", "", "jwt-auth, jwt." + padded, jwt, "jwt-auth", true},
		{"the raw JWT", "", "jwt-auth, jwt." + jwt, jwt, "jwt-auth", true},
		{"bearer entry", "", "bearer, bearer." + jwt, jwt, "bearer", true},
		{"only the first token entry is read", "", "jwt-auth, jwt.staging." + jwt + ", jwt." + jwt, "staging." + jwt, "jwt-auth", true},
		{"the header wins", "Bearer " + jwt, "jwt-auth, jwt.other", jwt, "jwt-auth", true},
		{"a token entry without the bare name offered selects nothing", "", "jwt." + b64, jwt, "", false},
		{"nothing usable offered", "", "chat, superchat", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/ws", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.protocols != "" {
				r.Header.Set("Sec-WebSocket-Protocol", tc.protocols)
			}
			token, chosen, usable := offeredToken(r)
			if token != tc.token || chosen != tc.chosen || usable != tc.usable {
				t.Errorf("offeredToken = %q, %q, %t; want %q, %q, %t", token, chosen, usable, tc.token, tc.chosen, tc.usable)
			}
		})
	}
}
