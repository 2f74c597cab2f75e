package auth

import (
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Defaults used by [New] for settings that no [Option] changes.
const (
	// DefaultTTL is how long an issued token stays valid.
	DefaultTTL = time.Hour
	// DefaultHashCost is the bcrypt cost of new password hashes: the safe
	// default for a real deployment. Load tests against an embedded target
	// pass bcrypt.MinCost through [WithHashCost] to keep login cheap.
	DefaultHashCost = bcrypt.DefaultCost
	// DefaultFailureLimit is how many failed logins per email a window
	// allows; the next attempt is refused.
	DefaultFailureLimit = 5
	// DefaultFailureWindow is how long failed logins are remembered,
	// counted from the first.
	DefaultFailureWindow = time.Minute
	// MinSecretBytes is the shortest signing secret [New] accepts.
	MinSecretBytes = 32
)

// maxFailureEntries bounds how many emails with recent failures the limiter
// remembers; at the bound the one whose window opened first is forgotten.
const maxFailureEntries = 10_000

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

// WithFailureLimit allows n failed logins per email within window, counted
// from the first failure; further attempts fail with ERATELIMITED until the
// window has passed. n must be at least 1 and window positive. The defaults
// are [DefaultFailureLimit] and [DefaultFailureWindow]. At most 10,000 emails
// are remembered at once.
func WithFailureLimit(n int, window time.Duration) Option {
	return func(s *Service) { s.failureLimit, s.failureWindow = n, window }
}
