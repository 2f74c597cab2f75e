package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// What every token says of itself (RFC 8725 sections 3.8, 3.9 and 3.11:
// issuer, audience and explicit typing), checked on every token read.
const (
	// Issuer is the iss of every token.
	Issuer = "goldenpath"
	// Audience is the aud of every token: the backend's API.
	Audience = "goldenpath"
	// TypeAccess is the JOSE header typ of access tokens (RFC 9068); their
	// token_type claim is "access".
	TypeAccess = "at+jwt"
	// TypeRefresh is the JOSE header typ of refresh tokens; their
	// token_type claim is "refresh".
	TypeRefresh = "rt+jwt"
)

// kind is one type of token: its header typ and its token_type claim.
type kind struct{ typ, claim string }

var (
	accessKind  = kind{TypeAccess, "access"}
	refreshKind = kind{TypeRefresh, "refresh"}
)

// Claims are what a verified token says.
type Claims struct {
	UserID    string    // sub
	Email     string    // email
	TokenID   string    // jti, unique per token
	ExpiresAt time.Time // exp
}

// tokenClaims are the claims of the tokens the service signs. token_type
// says "access" or "refresh", and email the user's address, as Netra's
// tokens do; the email lets [Service.Authenticate] find the user.
type tokenClaims struct {
	jwt.RegisteredClaims
	TokenType string `json:"token_type"`
	Email     string `json:"email"`
}

// issue signs a token of kind k for u, valid for ttl, and returns it with
// its expiry.
func (s *Service) issue(u backend.User, k kind, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   u.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        randomHex(16),
		},
		TokenType: k.claim,
		Email:     u.Email,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["typ"] = k.typ
	token, err := t.SignedString(s.secret)
	if err != nil {
		return "", time.Time{}, &backend.Error{Code: backend.EINTERNAL, Message: "could not sign the token", Err: err}
	}
	return token, claims.ExpiresAt.Time, nil
}

// session issues an access and a refresh token for u.
func (s *Service) session(u backend.User) (Session, error) {
	token, exp, err := s.issue(u, accessKind, s.ttl)
	if err != nil {
		return Session{}, err
	}
	refresh, _, err := s.issue(u, refreshKind, s.refreshTTL)
	if err != nil {
		return Session{}, err
	}
	u.PasswordHash = nil
	s.users.add(u.ID)
	return Session{Token: token, RefreshToken: refresh, ExpiresIn: exp.Sub(s.now()), User: u}, nil
}

// Verify checks an access token's signature, algorithm (HS256 only),
// issuer, audience, type and times against the service's clock, and
// returns its claims. It does not look the user up: [Service.Authenticate]
// does. Any failure is EUNAUTHORIZED with a message saying what is wrong,
// such as "token expired" or "token signature invalid".
func (s *Service) Verify(token string) (Claims, error) {
	return s.verify(token, accessKind)
}

// Authenticate is [Service.Verify] followed by a check that the token's
// user exists: a correctly signed token for a user the store does not
// hold (a database reset under a kept secret, or a forged sub) is
// EUNAUTHORIZED. Users known to exist are remembered, so most calls do not
// reach the store. A failing store returns its error.
func (s *Service) Authenticate(ctx context.Context, token string) (Claims, error) {
	c, err := s.verify(token, accessKind)
	if err != nil {
		return Claims{}, err
	}
	if err := s.exists(ctx, c); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Refresh exchanges a refresh token for a new access and refresh token
// (Netra's POST /auth/refresh). An access token, or a refresh token that
// fails [Service.Verify]'s checks or whose user does not exist, is
// EUNAUTHORIZED.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	c, err := s.verify(refreshToken, refreshKind)
	if err != nil {
		return Session{}, err
	}
	if err := s.exists(ctx, c); err != nil {
		return Session{}, err
	}
	return s.session(backend.User{ID: c.UserID, Email: c.Email})
}

// exists reports a token whose user the store does not hold (no user with
// its email, or one with another id) as EUNAUTHORIZED.
func (s *Service) exists(ctx context.Context, c Claims) error {
	if s.users.has(c.UserID) {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, c.Email)
	switch code := backend.ErrorCode(err); {
	case code == "" && u.ID == c.UserID:
		s.users.add(c.UserID)
		return nil
	case code == "" || code == backend.ENOTFOUND:
		return &backend.Error{Code: backend.EUNAUTHORIZED, Message: "token's user does not exist; log in again", Err: err}
	}
	return err
}

// verify checks a token of kind k.
func (s *Service) verify(token string, k kind) (Claims, error) {
	if token == "" {
		return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token missing")
	}
	var tc tokenClaims
	parsed, err := s.parser.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) {
		return s.secret, nil // the parser has already pinned the algorithm
	})
	if err != nil {
		return Claims{}, &backend.Error{Code: backend.EUNAUTHORIZED, Message: tokenProblem(parsed, err), Err: err}
	}
	typ, _ := parsed.Header["typ"].(string)
	if !sameType(typ, k.typ) || tc.TokenType != k.claim {
		for _, o := range []kind{accessKind, refreshKind} {
			if o != k && (sameType(typ, o.typ) || tc.TokenType == o.claim) {
				return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token is %s token; this call takes %s token", article(o.claim), article(k.claim))
			}
		}
		return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token type not accepted (typ %q, token_type %q); this call takes typ %s, token_type %s",
			typ, tc.TokenType, k.typ, k.claim)
	}
	if tc.Subject == "" || tc.ID == "" || tc.Email == "" {
		return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token missing sub, jti or email")
	}
	return Claims{UserID: tc.Subject, Email: tc.Email, TokenID: tc.ID, ExpiresAt: tc.ExpiresAt.Time}, nil
}

// sameType compares JOSE typ values as RFC 7515 section 4.1.9 says:
// case-insensitively, with "application/" optional.
func sameType(got, want string) bool {
	return strings.EqualFold(strings.TrimPrefix(strings.ToLower(got), "application/"), want)
}

func article(k string) string {
	if k == accessKind.claim {
		return "an access"
	}
	return "a " + k
}

// tokenProblem names what is wrong with a token that failed to parse.
func tokenProblem(parsed *jwt.Token, err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token malformed"
	case parsed != nil && parsed.Method != nil && parsed.Method.Alg() != jwt.SigningMethodHS256.Alg():
		return "token algorithm " + parsed.Method.Alg() + " not accepted; tokens are HS256"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "token signature invalid"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token missing exp, iss or aud"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer not accepted; tokens are issued by " + Issuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token audience not accepted; tokens are for " + Audience
	}
	return "token invalid"
}

// TokenFromRequest returns the token a request carries: from
// "Authorization: Bearer <token>" (the scheme in any case), else from
// Sec-WebSocket-Protocol headers (comma-separated, possibly several)
// offering both [protocol.SubprotocolAuth] and "jwt.<token>" (see
// [protocol.SubprotocolTokenPrefix]), in which case subprotocol is true and
// the server should select [protocol.SubprotocolAuth]. It returns "" when the
// request carries no token.
func TokenFromRequest(r *http.Request) (token string, subprotocol bool) {
	if scheme, rest, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if t := strings.TrimSpace(rest); t != "" {
			return t, false
		}
	}
	var auth bool
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			p = strings.TrimSpace(p)
			if p == protocol.SubprotocolAuth {
				auth = true
			} else if t, ok := strings.CutPrefix(p, protocol.SubprotocolTokenPrefix); ok && t != "" && token == "" {
				token = t
			}
		}
	}
	if !auth || token == "" {
		return "", false
	}
	return token, true
}
