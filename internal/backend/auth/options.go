package auth

import (
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Defaults used by [New] for settings that no [Option] changes.
const (
	// DefaultTTL is how long an issued access token stays valid.
	DefaultTTL = time.Hour
	// DefaultRefreshTTL is how long an issued refresh token stays valid.
	DefaultRefreshTTL = 24 * time.Hour
	// DefaultHashCost is the bcrypt cost of new password hashes: the safe
	// default for a real deployment. Load tests against an embedded target
	// pass bcrypt.MinCost through [WithHashCost] to keep login cheap.
	DefaultHashCost = bcrypt.DefaultCost
	// DefaultFailureLimit is how many failed logins for one email from one
	// client a window allows; the next attempt is refused.
	DefaultFailureLimit = 5
	// DefaultClientFailureLimit is how many failed logins one client may
	// make in a window on emails it is not known for (a password spray);
	// the next such attempt is refused.
	DefaultClientFailureLimit = 100
	// DefaultFailureWindow is how long failed logins are remembered,
	// counted from the first.
	DefaultFailureWindow = time.Minute
	// MinSecretBytes is the shortest signing secret [New] accepts.
	MinSecretBytes = 32
)

// maxFailureEntries bounds how many keys (client and email, or client) with
// recent failures each limiter remembers; at the bound the one whose window
// opened first is forgotten.
const maxFailureEntries = 10_000

// maxKnownEntries bounds the (client, email) pairs known to have logged in
// and the user ids known to exist: 8 bytes each, between half of it and
// all of it remembered.
const maxKnownEntries = 1 << 17

// An Option changes one setting of a [Service]; [New] validates the result.
type Option func(*Service)

// WithTTL sets how long issued tokens stay valid; it must be positive.
// The default is [DefaultTTL].
func WithTTL(d time.Duration) Option {
	return func(s *Service) { s.ttl = d }
}

// WithHashCost sets the bcrypt cost of new password hashes, between
// bcrypt.MinCost and bcrypt.MaxCost. The default is [DefaultHashCost].
func WithHashCost(cost int) Option {
	return func(s *Service) { s.cost = cost }
}

// WithNow sets the clock used for token times, user creation times and the
// failed-login window. The default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// WithIDs sets the generator of new user ids. The default returns "u_"
// followed by 24 hex digits from crypto/rand.
func WithIDs(newID func() string) Option {
	return func(s *Service) { s.newID = newID }
}

// WithLoginDelay adds d of latency to every login, before the credentials
// are checked:
// a fault to inject (goldenpath serve --fault slow-login=DUR). It must not be
// negative; the default is none.
func WithLoginDelay(d time.Duration) Option {
	return func(s *Service) { s.loginDelay = d }
}

// WithFailureLimit allows n failed logins per client and email within
// window, counted from the first failure; further attempts from that
// client for that email fail with ERATELIMITED until the window has passed.
// n must be at least 1 and window positive. The defaults are
// [DefaultFailureLimit] and [DefaultFailureWindow]. At most 10,000 pairs
// are remembered at once.
func WithFailureLimit(n int, window time.Duration) Option {
	return func(s *Service) { s.failureLimit, s.failureWindow = n, window }
}

// WithClientFailureLimit allows one client n failed logins within the
// failure window on emails it has not registered or logged in to; its
// further attempts on such emails fail with ERATELIMITED until the window
// has passed. n must be at least 1; the default is
// [DefaultClientFailureLimit].
func WithClientFailureLimit(n int) Option {
	return func(s *Service) { s.clientFailureLimit = n }
}

// WithRefreshTTL sets how long issued refresh tokens stay valid; it must
// be positive. The default is [DefaultRefreshTTL].
func WithRefreshTTL(d time.Duration) Option {
	return func(s *Service) { s.refreshTTL = d }
}
