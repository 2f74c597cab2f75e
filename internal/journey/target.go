package journey

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Defaults of [NewTarget].
const (
	DefaultRequestTimeout      = 30 * time.Second // whole HTTP request, and the WebSocket handshake
	DefaultMaxIdleConnsPerHost = 256              // kept-alive HTTP connections to the target: an idle one costs two goroutines and 8 KiB of buffers (docs/benchmarks.md, issue 11)
	maxBody                    = 4 << 20          // longest HTTP body read
)

// Target is the backend under test, shared by every virtual user: its base
// URL, one pooled HTTP client and one WebSocket dialer. Build it with
// [NewTarget]; the fields are exported so that suites opening their own
// sockets reuse the same pools. A Target is safe for concurrent use.
type Target struct {
	BaseURL string            // scheme://host[:port][/prefix], without a trailing slash
	HTTP    *http.Client      // for the JSON API
	Dialer  *websocket.Dialer // for the WebSocket; its Subprotocols must stay empty
	wsURL   string
	wsu     *url.URL     // wsURL parsed
	spec    *ProfileSpec // nil: PROTOCOL v1, built in
	raw     *rawTarget   // the built-in journey's raw path (rawnet_linux.go); nil: none
}

// ProfileSpec makes a [Target] speak a target profile instead of the
// built-in PROTOCOL v1 (see [WithProfile]): the profile, and the secrets
// and origins some profiles need.
type ProfileSpec struct {
	Profile *profile.Profile
	// AuthURL is where auth calls go; empty: the profile's auth.base_url,
	// else the target.
	AuthURL string
	// BypassKey, when set and the profile has a bypass call, logs users in
	// through it (a test-only login that creates the user).
	BypassKey string
	// APIKey is the bearer token of every request of an api_key profile
	// (none when empty).
	APIKey string
	// Model fills {{.Model}} in the profile's templates.
	Model string
}

// authURL is the origin of the spec's auth calls.
func (s *ProfileSpec) authURL() string {
	if s.AuthURL != "" {
		return s.AuthURL
	}
	return s.Profile.Auth.BaseURL
}

// TargetOption configures [NewTarget].
type TargetOption func(*targetConfig)

type targetConfig struct {
	client  *http.Client
	dialer  *websocket.Dialer
	tls     *tls.Config
	timeout time.Duration
	spec    *ProfileSpec
}

// WithProfile makes the target speak s.Profile: its journeys log in,
// open the stream, shake hands, ask and read events as the profile says
// ([Run]). Without it a target speaks PROTOCOL v1, built in.
func WithProfile(s ProfileSpec) TargetOption {
	return func(tc *targetConfig) { tc.spec = &s }
}

// WithHTTPClient makes the target use c instead of a pooled client of its own.
func WithHTTPClient(c *http.Client) TargetOption {
	return func(tc *targetConfig) { tc.client = c }
}

// WithDialer makes the target use d instead of a dialer of its own; d's
// Subprotocols must be empty (the journey offers its own).
func WithDialer(d *websocket.Dialer) TargetOption {
	return func(tc *targetConfig) { tc.dialer = d }
}

// WithTLSConfig sets the TLS configuration of the built client and dialer
// (e.g. a private root CA for an https target). The default is Go's.
func WithTLSConfig(c *tls.Config) TargetOption {
	return func(tc *targetConfig) { tc.tls = c }
}

// WithRequestTimeout bounds each HTTP request and each WebSocket handshake
// (default [DefaultRequestTimeout]).
func WithRequestTimeout(d time.Duration) TargetOption {
	return func(tc *targetConfig) { tc.timeout = d }
}

// NewTarget validates baseURL (http or https, a host, no query or
// fragment) and builds the target's HTTP client and WebSocket dialer.
func NewTarget(baseURL string, opts ...TargetOption) (*Target, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	switch {
	case !strings.Contains(baseURL, "://"):
		return nil, fmt.Errorf("journey: target URL %q has no scheme; use http:// or https://, e.g. http://127.0.0.1:8080", baseURL)
	case err != nil:
		return nil, fmt.Errorf("journey: target URL %q does not parse (%v); want e.g. http://127.0.0.1:8080", baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("journey: target URL %q has scheme %q; use http:// or https://", baseURL, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("journey: target URL %q has no host; want e.g. http://127.0.0.1:8080", baseURL)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("journey: target URL %q has a query, fragment or user info; give only scheme://host[:port][/prefix]", baseURL)
	}
	cfg := targetConfig{timeout: DefaultRequestTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("journey: request timeout %s is not positive; pass e.g. 30s", cfg.timeout)
	}
	if cfg.dialer != nil && len(cfg.dialer.Subprotocols) > 0 {
		return nil, errors.New("journey: the dialer has Subprotocols set; leave them empty (Options.Subprotocol offers the token as a subprotocol)")
	}
	base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	t := &Target{BaseURL: base, HTTP: cfg.client, Dialer: cfg.dialer}
	t.wsURL = "ws" + strings.TrimPrefix(base, "http") + protocol.PathWS
	if cfg.spec != nil {
		if cfg.spec.Profile == nil {
			return nil, errors.New("journey: WithProfile without a profile")
		}
		spec := *cfg.spec
		t.spec = &spec
		t.wsURL = "ws" + strings.TrimPrefix(base, "http") + spec.Profile.Stream.Path
	}
	t.wsu, _ = url.Parse(t.wsURL)
	netDialer := &net.Dialer{Timeout: cfg.timeout, KeepAlive: 30 * time.Second}
	built := t.HTTP == nil && t.Dialer == nil
	if t.HTTP == nil {
		t.HTTP = &http.Client{Timeout: cfg.timeout, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           netDialer.DialContext,
			TLSClientConfig:       cfg.tls,
			MaxIdleConnsPerHost:   DefaultMaxIdleConnsPerHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   cfg.timeout,
			ExpectContinueTimeout: time.Second,
			// An API call and its reply are small (a login: under 1 KiB
			// each way); a bigger body is read or written through. Each
			// connection of a burst of logins costs 2 KiB, not 8.
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
		}}
	}
	if t.Dialer == nil {
		t.Dialer = &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			NetDialContext:   netDialer.DialContext,
			TLSClientConfig:  cfg.tls,
			HandshakeTimeout: cfg.timeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			WriteBufferPool:  &sync.Pool{}, // thousands of mostly idle sockets hold no write buffer
		}
	}
	t.raw = newRawTarget(t, u, built && cfg.tls == nil, cfg.timeout)
	return t, nil
}

// WebSocketURL is the ws:// or wss:// URL of the target's /ws endpoint
// (its profile's stream path).
func (t *Target) WebSocketURL() string { return t.wsURL }

// Profile is what the target speaks: nil for PROTOCOL v1, built in.
func (t *Target) Profile() *ProfileSpec { return t.spec }

// Account is a virtual user's credentials. It never logs or prints its
// password.
type Account struct {
	Email    string
	Password string
}

// LogValue implements slog.LogValuer with the password redacted.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", a.Email), slog.String("password", Redacted))
}

// String implements fmt.Stringer with the password redacted.
func (a Account) String() string { return a.Email + " (password " + Redacted + ")" }

// GoString implements fmt.GoStringer with the password redacted.
func (a Account) GoString() string {
	return "journey.Account{Email:" + strconv.Quote(a.Email) + ", Password:" + strconv.Quote(Redacted) + "}"
}

// Session is a logged-in user: the id and the bearer token. It never logs
// its token.
type Session struct {
	UserID string
	Token  string
}

// LogValue implements slog.LogValuer with the token redacted.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", s.UserID), slog.String("token", Redacted))
}

// Login logs acct in and returns the session. Failures are [*Error]s in
// phase [PhaseLogin]: FailHTTPStatus 401 for wrong credentials, 429 when
// the target limits attempts.
func Login(ctx context.Context, t *Target, acct Account) (Session, error) {
	if t == nil || t.HTTP == nil {
		return Session{}, &Error{Kind: FailOptions, Message: "target not built by NewTarget"}
	}
	s, _, err := login(ctx, t, acct)
	if err != nil {
		return s, err
	}
	return s, nil
}

func login(ctx context.Context, t *Target, acct Account) (Session, http.Header, *Error) {
	var lr protocol.LoginReply
	hdr, err := t.call(ctx, PhaseLogin, http.MethodPost, protocol.PathLogin, "",
		protocol.Credentials{Email: acct.Email, Password: acct.Password}, http.StatusOK, &lr)
	if err != nil {
		return Session{}, hdr, err
	}
	s, e := sessionOf(lr)
	return s, hdr, e
}

// sessionOf is the session a login reply gives, or its flaw.
func sessionOf(lr protocol.LoginReply) (Session, *Error) {
	if lr.AccessToken == "" || lr.User.ID == "" {
		return Session{}, &Error{Kind: FailProtocol, Phase: PhaseLogin, Message: "login reply lacks access_token or user.id"}
	}
	return Session{UserID: lr.User.ID, Token: lr.AccessToken}, nil
}

// Register creates acct on the target and returns its user id. An account
// that already exists (409) counts as success: Register then logs in to
// learn the id, so the password must match. Failures are [*Error]s in phase
// [PhaseRegister] (or [PhaseLogin] for that second step).
func Register(ctx context.Context, t *Target, acct Account) (userID string, err error) {
	if t == nil || t.HTTP == nil {
		return "", &Error{Kind: FailOptions, Message: "target not built by NewTarget"}
	}
	var rr protocol.RegisterReply
	_, e := t.call(ctx, PhaseRegister, http.MethodPost, protocol.PathRegister, "",
		protocol.Credentials{Email: acct.Email, Password: acct.Password}, http.StatusCreated, &rr)
	switch {
	case e == nil && rr.User.ID == "":
		return "", &Error{Kind: FailProtocol, Phase: PhaseRegister, Message: "register reply lacks user.id"}
	case e == nil:
		return rr.User.ID, nil
	case e.Kind == FailHTTPStatus && e.Status == http.StatusConflict:
		s, err := Login(ctx, t, acct)
		return s.UserID, err
	}
	return "", e
}

// call sends one JSON request and decodes a reply of status want into out
// (when out is not nil). It returns the reply's header, also on failure.
func (t *Target) call(ctx context.Context, phase, method, path, token string, body any, want int, out any) (http.Header, *Error) {
	rd, err := jsonBody(body)
	if err != nil {
		return nil, &Error{Kind: FailInternal, Phase: phase, Message: "encode request: " + err.Error()}
	}
	req, err := t.newRequest(ctx, method, path, token, rd)
	if err != nil {
		return nil, &Error{Kind: FailOptions, Phase: phase, Message: err.Error()}
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return nil, classify(ctx, phase, err)
	}
	noteReply(ctx, resp.StatusCode)
	b, err := readReply(resp)
	if err != nil {
		return resp.Header, classify(ctx, phase, err)
	}
	if resp.StatusCode != want {
		return resp.Header, statusError(phase, method+" "+path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, &Error{Kind: FailProtocol, Phase: phase, Message: method + " " + path + ": reply is not the expected JSON: " + err.Error(), Sample: sample(b)}
		}
	}
	return resp.Header, nil
}

// JSON sends one HTTP request to the target's path: body, when not nil,
// encoded as JSON, and token, when set, as a bearer token. A 2xx reply is
// decoded into out when out is not nil; the reply's status and body (at
// most 4 MiB) are returned whatever they are, so that a text endpoint such
// as /metrics can be read with a nil out. A reply that is not 2xx is an
// error "METHOD PATH: HTTP status: body" (the body cut at 200 bytes).
//
// JSON is for suites that call the API outside a journey; it records no
// timings and returns plain errors, not [*Error]s.
func (t *Target) JSON(ctx context.Context, method, path, token string, body, out any) (status int, reply []byte, err error) {
	rd, err := jsonBody(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := t.newRequest(ctx, method, path, token, rd)
	if err != nil {
		return 0, nil, err
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := readReply(resp)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, b, fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("%s %s: reply is not the expected JSON: %w", method, path, err)
		}
	}
	return resp.StatusCode, b, nil
}

// jsonBody encodes body as a request body; nil gives none.
func jsonBody(body any) (io.Reader, error) {
	if body == nil {
		return nil, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// newRequest builds a request to the target's path with a JSON body (when
// body is not nil) and a bearer token (when token is set).
func (t *Target) newRequest(ctx context.Context, method, path, token string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// readReply reads at most maxBody of a reply, drains the rest so that the
// connection can be reused, and closes the body.
func readReply(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	return b, err
}

// statusError reports an unexpected HTTP status with the protocol's error
// code and message when the body has them.
func statusError(phase, what string, status int, body []byte) *Error {
	msg := what + ": HTTP " + strconv.Itoa(status)
	var he protocol.HTTPError
	if json.Unmarshal(body, &he) == nil && he.Error.Code != "" {
		msg += " " + he.Error.Code + ": " + Redact(he.Error.Message)
	}
	return &Error{Kind: FailHTTPStatus, Phase: phase, Status: status, Message: msg, Sample: sample(body)}
}

// maxTimingEntries bounds the Server-Timing entries taken from one reply,
// and maxTimingName their names, so a target cannot flood the metrics.
const (
	maxTimingEntries = 16
	maxTimingName    = 32
)

// httpTimingNames holds TimingHTTPPrefix + name for the first names
// met, so that each reply's timings make no new strings; a target that
// invents names past the bound gets them made each time.
var httpTimingNames struct {
	sync.RWMutex
	m map[string]string // name: its timing's name
}

// maxHTTPTimingNames bounds httpTimingNames.
const maxHTTPTimingNames = 64

// httpTimingName is TimingHTTPPrefix + name.
func httpTimingName(name string) string {
	httpTimingNames.RLock()
	full, ok := httpTimingNames.m[name]
	httpTimingNames.RUnlock()
	if ok {
		return full
	}
	full = TimingHTTPPrefix + name
	httpTimingNames.Lock()
	defer httpTimingNames.Unlock()
	if httpTimingNames.m == nil {
		httpTimingNames.m = map[string]string{}
	}
	if len(httpTimingNames.m) < maxHTTPTimingNames {
		httpTimingNames.m[strings.Clone(name)] = full
	}
	return full
}

// appendServerTiming parses W3C Server-Timing headers ("name;dur=1.5;desc=x,
// ...") and appends each entry with a dur as TimingHTTPPrefix+name.
func appendServerTiming(dst []ServerTiming, h http.Header) []ServerTiming {
	return appendTimings(dst, h.Values("Server-Timing"))
}

// appendTimings is appendServerTiming of a header's values.
func appendTimings(dst []ServerTiming, values []string) []ServerTiming {
	n := 0
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			if n >= maxTimingEntries {
				return dst
			}
			name, params, _ := strings.Cut(entry, ";")
			name = strings.TrimSpace(name)
			if name == "" || len(name) > maxTimingName {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "dur") {
					continue
				}
				if ms, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(val), `"`), 64); err == nil && ms >= 0 {
					dst = append(dst, ServerTiming{Name: httpTimingName(name), MS: ms})
					n++
				}
				break
			}
		}
	}
	return dst
}
