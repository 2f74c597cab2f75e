package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// Limits on credentials.
const (
	// MaxEmailBytes is the longest email accepted (RFC 5321's path limit).
	MaxEmailBytes = 254
	// MinPasswordChars is the shortest password Register accepts.
	MinPasswordChars = 8
	// MaxPasswordBytes is the longest password accepted: bcrypt reads no
	// further.
	MaxPasswordBytes = 72
)

// msgWrongCredentials is the one reply to a wrong password and to an
// unknown email, so that the two cannot be told apart.
const msgWrongCredentials = "wrong email or password"

// Service registers users, logs them in and verifies their tokens. It is
// safe for concurrent use.
type Service struct {
	store  backend.Store
	secret []byte

	ttl                time.Duration
	refreshTTL         time.Duration
	cost               int
	now                func() time.Time
	newID              func() string
	loginDelay         time.Duration
	failureLimit       int
	clientFailureLimit int
	failureWindow      time.Duration

	parser    *jwt.Parser
	pairs     *limiter // failed logins per client and email
	clients   *limiter // failed logins per client, on emails it is not known for
	known     *recent  // (client, email) pairs that registered or logged in
	users     *recent  // user ids known to exist
	dummyHash []byte   // compared against when the email is unknown
}

// New returns a Service that keeps users in store and signs tokens with
// secret, which must be at least [MinSecretBytes] long. Options are applied
// over the defaults and the result is checked once, here.
func New(store backend.Store, secret []byte, opts ...Option) (*Service, error) {
	s := &Service{
		store:              store,
		secret:             append([]byte(nil), secret...),
		ttl:                DefaultTTL,
		refreshTTL:         DefaultRefreshTTL,
		cost:               DefaultHashCost,
		now:                time.Now,
		newID:              newUserID,
		failureLimit:       DefaultFailureLimit,
		clientFailureLimit: DefaultClientFailureLimit,
		failureWindow:      DefaultFailureWindow,
	}
	for _, opt := range opts {
		opt(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("auth: no store")
	case len(s.secret) < MinSecretBytes:
		return nil, fmt.Errorf("auth: signing secret is %d bytes; use at least %d (LoadOrCreateSecret makes one)", len(s.secret), MinSecretBytes)
	case s.ttl <= 0:
		return nil, fmt.Errorf("auth: token TTL %v is not positive", s.ttl)
	case s.refreshTTL <= 0:
		return nil, fmt.Errorf("auth: refresh token TTL %v is not positive", s.refreshTTL)
	case s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost:
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", s.cost, bcrypt.MinCost, bcrypt.MaxCost)
	case s.now == nil:
		return nil, errors.New("auth: WithNow(nil): no clock")
	case s.newID == nil:
		return nil, errors.New("auth: WithIDs(nil): no id generator")
	case s.loginDelay < 0:
		return nil, fmt.Errorf("auth: login delay %v is negative", s.loginDelay)
	case s.failureLimit < 1:
		return nil, fmt.Errorf("auth: failure limit %d is below 1", s.failureLimit)
	case s.clientFailureLimit < 1:
		return nil, fmt.Errorf("auth: client failure limit %d is below 1", s.clientFailureLimit)
	case s.failureWindow <= 0:
		return nil, fmt.Errorf("auth: failure window %v is not positive", s.failureWindow)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hashing the dummy password: %w", err)
	}
	s.dummyHash = dummy
	s.pairs = newLimiter(s.failureLimit, s.failureWindow, maxFailureEntries, s.now, "for this email from your address")
	s.clients = newLimiter(s.clientFailureLimit, s.failureWindow, maxFailureEntries, s.now, "from your address")
	s.known = newRecent(maxKnownEntries)
	s.users = newRecent(maxKnownEntries)
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	return s, nil
}

// Register creates a user for client (see [ClientOf]; it may be ""). The
// email is trimmed and lower-cased and must look like an address; the
// password must have at least [MinPasswordChars] characters and at most
// [MaxPasswordBytes] bytes. Bad input is EINVALID; a taken email is
// ECONFLICT. The returned user has no PasswordHash. The client is known
// for the email from then on (see [Service.Login]).
func (s *Service) Register(ctx context.Context, client, email, password string) (backend.User, error) {
	email = normalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return backend.User{}, err
	}
	if err := checkPassword(password); err != nil {
		return backend.User{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.User{}, fmt.Errorf("auth: register: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return backend.User{}, &backend.Error{Code: backend.EINTERNAL, Message: "could not hash the password", Err: fmt.Errorf("auth: register: %w", err)}
	}
	u := backend.User{ID: s.newID(), Email: email, PasswordHash: hash, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); backend.ErrorCode(err) == backend.ECONFLICT {
		return backend.User{}, &backend.Error{Code: backend.ECONFLICT, Message: "email is already registered; log in, or register another address", Err: err}
	} else if err != nil {
		return backend.User{}, err
	}
	s.known.add(client, email)
	s.users.add(u.ID)
	u.PasswordHash = nil
	return u, nil
}

// Session is the result of a successful login.
type Session struct {
	Token        string        // the signed access JWT, for "Authorization: Bearer"
	RefreshToken string        // a refresh JWT, for [Service.Refresh] only
	ExpiresIn    time.Duration // until the access token expires
	User         backend.User  // without PasswordHash
}

// LogValue implements [slog.LogValuer]: a Session logs its user id and
// lifetime, never its tokens.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user_id", s.User.ID),
		slog.Duration("expires_in", s.ExpiresIn),
		slog.Any("token", Secret(s.Token)),
		slog.Any("refresh_token", Secret(s.RefreshToken)),
	)
}

// Login checks an email and password sent by client (see [ClientOf]; it
// may be "") and issues tokens. Missing or oversized fields are EINVALID; a
// wrong password and an unknown email are the same EUNAUTHORIZED, and take
// the same time. Failures are limited per client and email, and per client
// on the emails it is not known for (it never registered or logged in to
// them): beyond either limit a login is ERATELIMITED, caused by a
// [*Throttled] saying when to try again (see [WithFailureLimit]). Another
// client is never throttled by them. When ctx ends while Login waits, its
// error wraps ctx.Err().
func (s *Service) Login(ctx context.Context, client, email, password string) (Session, error) {
	email = normalizeEmail(email)
	switch {
	case email == "" || password == "":
		return Session{}, backend.Errorf(backend.EINVALID, "email and password are required; send both")
	case len(email) > MaxEmailBytes:
		return Session{}, backend.Errorf(backend.EINVALID, "email is longer than %d bytes; use a shorter address", MaxEmailBytes)
	case len(password) > MaxPasswordBytes:
		return Session{}, backend.Errorf(backend.EINVALID, "password is longer than %d bytes, the bcrypt limit; no account can have it", MaxPasswordBytes)
	}
	if err := s.delay(ctx); err != nil {
		return Session{}, err
	}
	pair, err := s.pairs.begin(ctx, client+"\x00"+email)
	if err != nil {
		return Session{}, err
	}
	var cl *attempts
	if !s.known.has(client, email) {
		if cl, err = s.clients.begin(ctx, client); err != nil {
			s.pairs.end(pair, false)
			return Session{}, err
		}
	}
	u, failed, err := s.check(ctx, email, password)
	s.pairs.end(pair, failed)
	if cl != nil {
		s.clients.end(cl, failed)
	}
	if err != nil {
		return Session{}, err
	}
	s.known.add(client, email)
	return s.session(u)
}

// check compares the password with the user's hash, or with the dummy hash
// when there is no such user. failed reports a wrong email or password, the
// outcome the limiter counts.
func (s *Service) check(ctx context.Context, email, password string) (u backend.User, failed bool, err error) {
	u, err = s.store.UserByEmail(ctx, email)
	hash := u.PasswordHash
	switch {
	case backend.ErrorCode(err) == backend.ENOTFOUND:
		u, hash = backend.User{}, s.dummyHash
	case err != nil:
		return backend.User{}, false, err
	}
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	switch {
	case err == nil && u.ID != "":
		return u, false, nil
	case err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return backend.User{}, true, backend.Errorf(backend.EUNAUTHORIZED, msgWrongCredentials)
	default:
		return backend.User{}, false, &backend.Error{Code: backend.EINTERNAL, Message: "could not check the password", Err: fmt.Errorf("auth: stored hash of %s: %w", u.ID, err)}
	}
}

// delay waits for the injected login latency, if any.
func (s *Service) delay(ctx context.Context) error {
	if s.loginDelay <= 0 {
		return nil
	}
	t := time.NewTimer(s.loginDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: login: %w", ctx.Err())
	}
}

// normalizeEmail trims and lower-cases an email, the form the store keeps.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// checkEmail reports whether a normalized email looks like an address.
func checkEmail(email string) error {
	switch {
	case email == "":
		return backend.Errorf(backend.EINVALID, "email is required; send an address like name@example.com")
	case len(email) > MaxEmailBytes:
		return backend.Errorf(backend.EINVALID, "email is longer than %d bytes; use a shorter address", MaxEmailBytes)
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		!utf8.ValidString(email) || strings.ContainsFunc(email, isSpaceOrControl) {
		return backend.Errorf(backend.EINVALID, "email does not look like an address; use one @ with text on both sides and no spaces, like name@example.com")
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// checkPassword reports whether a password may be registered.
func checkPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordChars:
		return backend.Errorf(backend.EINVALID, "password is shorter than %d characters; choose a longer one", MinPasswordChars)
	case len(password) > MaxPasswordBytes:
		return backend.Errorf(backend.EINVALID, "password is longer than %d bytes, the bcrypt limit; choose a shorter one", MaxPasswordBytes)
	}
	return nil
}

// newUserID returns "u_" and 24 random hex digits.
func newUserID() string { return "u_" + randomHex(12) }

// randomHex returns n random bytes from crypto/rand, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b)
}

// Bypass logs the user of email in without a password, creating it on
// first use with the id "e2e-" + the email's local part, as Netra's
// test-only login (POST /auth/e2e/test-auth) does (with a random suffix
// when another email of the same local part has that id). Only a caller that
// checked a bypass key may call it. A user created so has a random
// password nobody knows.
func (s *Service) Bypass(ctx context.Context, email string) (Session, error) {
	email = normalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return Session{}, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if backend.ErrorCode(err) == backend.ENOTFOUND {
		hash, herr := bcrypt.GenerateFromPassword([]byte(randomHex(16)), s.cost)
		if herr != nil {
			return Session{}, &backend.Error{Code: backend.EINTERNAL, Message: "could not hash the password", Err: herr}
		}
		local, _, _ := strings.Cut(email, "@")
		u = backend.User{ID: "e2e-" + local, Email: email, PasswordHash: hash, CreatedAt: s.now()}
		if err = s.store.CreateUser(ctx, u); backend.ErrorCode(err) == backend.ECONFLICT {
			var found backend.User
			found, err = s.store.UserByEmail(ctx, email) // created meanwhile?
			if backend.ErrorCode(err) == backend.ENOTFOUND {
				// No: the id is another email's with the same local part
				// (a@x and a@y); this one gets a suffix.
				u.ID += "-" + randomHex(4)
				err = s.store.CreateUser(ctx, u)
			} else {
				u = found
			}
		}
	}
	if err != nil {
		return Session{}, err
	}
	return s.session(u)
}
