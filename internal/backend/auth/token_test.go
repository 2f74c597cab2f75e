package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// sign signs claims with any method and key, as an attacker or a
// misconfigured peer might.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing a %s test token: %v", method.Alg(), err)
	}
	return s
}

// flipSignatureByte returns the token with one byte of its decoded
// signature changed. (Changing the last base64 character could leave the
// decoded bytes as they were.)
func flipSignatureByte(t *testing.T, token string) string {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		t.Fatalf("decoding a token's signature: %v", err)
	}
	sig[len(sig)/2] ^= 0x01
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	svc, clock := newTestService(t)
	user := mustRegister(t, svc, ada, adaPW)
	sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
	if err != nil {
		t.Fatalf("Login() = %v", err)
	}
	now := clock.Now()
	claims := func(mutate func(*tokenClaims)) *tokenClaims {
		c := &tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   user.ID,
			ID:        "jti-1",
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}, TokenType: "access", Email: user.Email}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	typed := func(typ string, c *tokenClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = typ
		s, err := tok.SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		token   string
		advance time.Duration // of the clock before verifying
		want    string        // "" for valid, else part of the message
	}{
		{"issued by Login", sess.Token, 0, ""},
		{"hand-signed HS256", typed(TypeAccess, claims(nil)), 0, ""},
		{"typ application/at+jwt", typed("application/AT+JWT", claims(nil)), 0, ""},
		{"typ JWT", typed("JWT", claims(nil)), 0, `token type not accepted (typ "JWT", token_type "access")`},
		{"refresh token", sess.RefreshToken, 0, "token is a refresh token; this call takes an access token"},
		{"refresh typ, access claim", typed(TypeRefresh, claims(nil)), 0, "token is a refresh token"},
		{"access typ, refresh claim", typed(TypeAccess, claims(func(c *tokenClaims) { c.TokenType = "refresh" })), 0, "token is a refresh token"},
		{"no token_type", typed(TypeAccess, claims(func(c *tokenClaims) { c.TokenType = "" })), 0, "token type not accepted"},
		{"no iss", typed(TypeAccess, claims(func(c *tokenClaims) { c.Issuer = "" })), 0, "token missing exp, iss or aud"},
		{"another iss", typed(TypeAccess, claims(func(c *tokenClaims) { c.Issuer = "netra-auth-service" })), 0, "issuer not accepted"},
		{"no aud", typed(TypeAccess, claims(func(c *tokenClaims) { c.Audience = nil })), 0, "token missing exp, iss or aud"},
		{"another aud", typed(TypeAccess, claims(func(c *tokenClaims) { c.Audience = jwt.ClaimStrings{"other-api"} })), 0, "audience not accepted"},
		{"no email", typed(TypeAccess, claims(func(c *tokenClaims) { c.Email = "" })), 0, "missing sub, jti or email"},
		{"a second before expiry", sess.Token, DefaultTTL - time.Second, ""},
		{"at expiry", sess.Token, DefaultTTL, "token expired"},
		{"long expired", sess.Token, 24 * time.Hour, "token expired"},
		{"signature byte flipped", flipSignatureByte(t, sess.Token), 0, "token signature invalid"},
		{"signed with another secret", sign(t, jwt.SigningMethodHS256, bytes.Repeat([]byte("x"), 32), claims(nil)), 0, "token signature invalid"},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), 0, "algorithm none not accepted"},
		{"HS512 with the right secret", sign(t, jwt.SigningMethodHS512, testSecret, claims(nil)), 0, "algorithm HS512 not accepted"},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil)), 0, "algorithm RS256 not accepted"},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, claims(nil)), 0, "algorithm ES256 not accepted"},
		{"no exp", typed(TypeAccess, claims(func(c *tokenClaims) { c.ExpiresAt = nil })), 0, "token missing exp"},
		{"iat in the future", typed(TypeAccess, claims(func(c *tokenClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })), 0, "issued in the future"},
		{"no sub", typed(TypeAccess, claims(func(c *tokenClaims) { c.Subject = "" })), 0, "missing sub, jti or email"},
		{"no jti", typed(TypeAccess, claims(func(c *tokenClaims) { c.ID = "" })), 0, "missing sub, jti or email"},
		{"empty", "", 0, "token missing"},
		{"garbage", "not a token", 0, "token malformed"},
		{"four segments", sess.Token + ".x", 0, "token malformed"},
		{"bad base64", "a.b.c", 0, "token malformed"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + ".e30.c2ln", 0, "token malformed"},
		{"unknown alg", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"XYZ","typ":"JWT"}`)) + ".e30.c2ln", 0, "token invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(now.Add(tc.advance))
			got, err := svc.Verify(tc.token)
			if tc.want == "" {
				if err != nil || got.UserID != user.ID || got.TokenID == "" || got.ExpiresAt.IsZero() {
					t.Fatalf("Verify(%s) = (%+v, %v); want claims of user %s", tc.name, got, err, user.ID)
				}
				return
			}
			if backend.ErrorCode(err) != backend.EUNAUTHORIZED || !strings.Contains(backend.ErrorMessage(err), tc.want) {
				t.Fatalf("Verify(%s) = (%+v, %v); want %s %q", tc.name, got, err, backend.EUNAUTHORIZED, tc.want)
			}
		})
	}
}

func TestTokensAreUnique(t *testing.T) {
	svc, _ := newTestService(t)
	mustRegister(t, svc, ada, adaPW)
	seen := map[string]bool{}
	for range 3 {
		sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
		if err != nil {
			t.Fatalf("Login() = %v", err)
		}
		c, err := svc.Verify(sess.Token)
		if err != nil || seen[c.TokenID] {
			t.Fatalf("Verify(login token) = (%+v, %v); want a jti not seen before (%v)", c, err, seen)
		}
		seen[c.TokenID] = true
	}
}

func TestTokenFromRequest(t *testing.T) {
	cases := []struct {
		name        string
		headers     [][2]string
		want        string
		wantSubprot bool
	}{
		{"none", nil, "", false},
		{"bearer", [][2]string{{"Authorization", "Bearer abc"}}, "abc", false},
		{"scheme lower-case", [][2]string{{"Authorization", "bearer abc"}}, "abc", false},
		{"scheme upper-case, extra spaces", [][2]string{{"Authorization", "  BEARER   abc  "}}, "abc", false},
		{"basic", [][2]string{{"Authorization", "Basic YWRhOnB3"}}, "", false},
		{"bearer without token", [][2]string{{"Authorization", "Bearer "}}, "", false},
		{"subprotocol pair", [][2]string{{"Sec-WebSocket-Protocol", "jwt-auth, jwt.abc"}}, "abc", true},
		{"subprotocol pair reversed, no spaces", [][2]string{{"Sec-WebSocket-Protocol", "jwt.abc,jwt-auth"}}, "abc", true},
		{"subprotocols in separate headers", [][2]string{{"Sec-WebSocket-Protocol", "chat"}, {"Sec-WebSocket-Protocol", "jwt.abc"}, {"Sec-WebSocket-Protocol", "jwt-auth"}}, "abc", true},
		{"token without jwt-auth", [][2]string{{"Sec-WebSocket-Protocol", "jwt.abc"}}, "", false},
		{"jwt-auth without token", [][2]string{{"Sec-WebSocket-Protocol", "jwt-auth, chat"}}, "", false},
		{"empty token", [][2]string{{"Sec-WebSocket-Protocol", "jwt-auth, jwt."}}, "", false},
		{"bearer wins over subprotocol", [][2]string{{"Authorization", "Bearer abc"}, {"Sec-WebSocket-Protocol", "jwt-auth, jwt.def"}}, "abc", false},
		{"basic falls back to subprotocol", [][2]string{{"Authorization", "Basic x"}, {"Sec-WebSocket-Protocol", "jwt-auth, jwt.def"}}, "def", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			for _, h := range tc.headers {
				r.Header.Add(h[0], h[1])
			}
			got, sub := TokenFromRequest(r)
			if got != tc.want || sub != tc.wantSubprot {
				t.Fatalf("TokenFromRequest(%v) = (%q, %t); want (%q, %t)", tc.headers, got, sub, tc.want, tc.wantSubprot)
			}
		})
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "goldenpath")
	first, err := LoadOrCreateSecret(dir)
	if err != nil || len(first) != MinSecretBytes {
		t.Fatalf("LoadOrCreateSecret(new dir) = (%d bytes, %v); want %d bytes", len(first), err, MinSecretBytes)
	}
	again, err := LoadOrCreateSecret(dir)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("LoadOrCreateSecret(again) = (%x, %v); want the first secret %x", again, err, first)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, SecretFile): 0o600} {
			if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
				t.Errorf("mode of %s = %v (%v); want %v", path, fi.Mode(), err, want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d entries; want only %s, no temporary files", dir, len(entries), SecretFile)
	}
	if _, err := New(newMemStore(), first, WithHashCost(bcrypt.MinCost)); err != nil {
		t.Errorf("New(store, LoadOrCreateSecret()) = %v; want a service", err)
	}
}

func TestLoadOrCreateSecretConcurrently(t *testing.T) {
	dir := t.TempDir()
	secrets := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Go(func() {
			var err error
			if secrets[i], err = LoadOrCreateSecret(dir); err != nil {
				t.Errorf("LoadOrCreateSecret() = %v", err)
			}
		})
	}
	wg.Wait()
	for i, s := range secrets {
		if !bytes.Equal(s, secrets[0]) {
			t.Errorf("concurrent LoadOrCreateSecret %d = %x; want %x like the first", i, s, secrets[0])
		}
	}
}

func TestLoadOrCreateSecretRejectsBadFiles(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"not hex", strings.Repeat("zz", 32), "is not hex-encoded"},
		{"too short", strings.Repeat("ab", 31), "holds 31 bytes"},
		{"empty", "", "holds 0 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, SecretFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateSecret(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadOrCreateSecret(%s file) = %v; want an error naming %s and saying %q", tc.name, err, path, tc.want)
			}
		})
	}
	if _, err := LoadOrCreateSecret(""); err == nil {
		t.Errorf("LoadOrCreateSecret(\"\") = nil error; want one")
	}
}
