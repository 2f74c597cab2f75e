package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Claims are what a verified token says.
type Claims struct {
	UserID    string    // sub
	TokenID   string    // jti, unique per token
	ExpiresAt time.Time // exp
}

// issue signs a token for a user and returns it with its expiry.
func (s *Service) issue(userID string) (string, time.Time, error) {
	now := s.now()
	claims := jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		ID:        randomHex(16),
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return "", time.Time{}, &backend.Error{Code: backend.EINTERNAL, Message: "could not sign the token", Err: err}
	}
	return token, claims.ExpiresAt.Time, nil
}

// Verify checks a token's signature, algorithm (HS256 only) and times
// against the service's clock, and returns its claims. Any failure is
// EUNAUTHORIZED with a message saying what is wrong, such as "token
// expired" or "token signature invalid".
func (s *Service) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token missing")
	}
	var rc jwt.RegisteredClaims
	parsed, err := s.parser.ParseWithClaims(token, &rc, func(*jwt.Token) (any, error) {
		return s.secret, nil // the parser has already pinned the algorithm
	})
	if err != nil {
		return Claims{}, &backend.Error{Code: backend.EUNAUTHORIZED, Message: tokenProblem(parsed, err), Err: err}
	}
	if rc.Subject == "" || rc.ID == "" {
		return Claims{}, backend.Errorf(backend.EUNAUTHORIZED, "token missing sub or jti")
	}
	return Claims{UserID: rc.Subject, TokenID: rc.ID, ExpiresAt: rc.ExpiresAt.Time}, nil
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
		return "token missing exp"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
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
