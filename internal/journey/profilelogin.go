package journey

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// ProfileLogin gets acct a session the way profile p says: its bypass
// call when bypassKey is set and the profile has one, else its login
// call, sent to authURL (empty: the target). The token and the user id
// are read at the profile's JSON paths. Failures are [*Error]s in phase
// [PhaseLogin] that name the call and, for a reply that does not fit the
// profile, the path that was missing and the reply (tokens redacted).
func ProfileLogin(ctx context.Context, t *Target, p *profile.Profile, acct Account, authURL, bypassKey string) (Session, *Error) {
	call := p.Auth.Login
	if bypassKey != "" && p.Auth.Bypass != nil {
		call = p.Auth.Bypass
	}
	if call == nil {
		return Session{}, &Error{Kind: FailOptions, Phase: PhaseLogin, Message: "profile " + p.Name + " has no login call (auth.login or auth.bypass)"}
	}
	f := profile.Fields{Email: acct.Email, Password: acct.Password, Name: nameOf(acct.Email), BypassKey: bypassKey}
	reply, e := profileCall(ctx, t, call, f, authURL, PhaseLogin, "auth", "")
	if e != nil {
		return Session{}, e
	}
	var v any
	if err := json.Unmarshal(reply, &v); err != nil {
		return Session{}, &Error{Kind: FailProtocol, Phase: PhaseLogin, Message: "login reply is not JSON: " + err.Error(), Sample: sample(reply)}
	}
	token, _ := profile.Lookup(v, p.Auth.Token).(string)
	userID, _ := profile.Lookup(v, p.Auth.UserID).(string)
	s := Session{Token: token, UserID: userID}
	switch {
	case s.Token == "":
		return Session{}, &Error{Kind: FailProtocol, Phase: PhaseLogin, Message: "login reply has no token at " + strconv.Quote(p.Auth.Token) + " (profile " + p.Name + ", auth.token)", Sample: sample(reply)}
	case p.Auth.UserID != "" && s.UserID == "":
		return Session{}, &Error{Kind: FailProtocol, Phase: PhaseLogin, Message: "login reply has no user id at " + strconv.Quote(p.Auth.UserID) + " (profile " + p.Name + ", auth.user_id)", Sample: sample(reply)}
	}
	return s, nil
}

// profileCall sends one call of a profile (to baseURL, empty: the
// target), with token as its bearer token when set, and returns the
// reply's body when its status is one the call expects (default 200).
// Failures are in phase.
func profileCall(ctx context.Context, t *Target, c *profile.Call, f profile.Fields, baseURL, phase, what, token string) ([]byte, *Error) {
	path, err := profile.Render(c.Path, f)
	if err != nil {
		return nil, &Error{Kind: FailOptions, Phase: phase, Message: what + " path: " + err.Error()}
	}
	body, err := profile.Render(c.Body, f)
	if err != nil {
		return nil, &Error{Kind: FailOptions, Phase: phase, Message: what + " body: " + err.Error()}
	}
	hdr, err := profile.Render(c.Header, f)
	if err != nil {
		return nil, &Error{Kind: FailOptions, Phase: phase, Message: what + " header: " + err.Error()}
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
		if c.Body != nil {
			method = http.MethodPost
		}
	}
	rd, err := jsonBody(body)
	if err != nil {
		return nil, &Error{Kind: FailInternal, Phase: phase, Message: "encode request: " + err.Error()}
	}
	base := strings.TrimSuffix(baseURL, "/")
	if base == "" {
		base = t.BaseURL
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path.(string), rd)
	if err != nil {
		return nil, &Error{Kind: FailOptions, Phase: phase, Message: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if h, ok := hdr.(map[string]string); ok {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return nil, classify(ctx, phase, err)
	}
	noteReply(ctx, resp.StatusCode)
	b, err := readReply(resp)
	if err != nil {
		return nil, classify(ctx, phase, err)
	}
	want := c.Expect
	if len(want) == 0 {
		want = []int{http.StatusOK}
	}
	if !slices.Contains(want, resp.StatusCode) {
		return nil, statusError(phase, method+" "+path.(string), resp.StatusCode, b)
	}
	return b, nil
}

// nameOf is a display name for an account: its email's local part.
func nameOf(email string) string {
	name, _, _ := strings.Cut(email, "@")
	return name
}

// ProfileRegister creates acct on the target with the profile's register
// call (sent to the spec's auth origin). A profile without one, or whose
// users come into being at their bypass login or need no account, has
// nothing to do.
func ProfileRegister(ctx context.Context, t *Target, acct Account) error {
	spec := t.spec
	if spec == nil {
		_, err := Register(ctx, t, acct)
		return err
	}
	p := spec.Profile
	if p.Auth.APIKey || p.Auth.Register == nil || (spec.BypassKey != "" && p.Auth.Bypass != nil) {
		return nil
	}
	f := profile.Fields{Email: acct.Email, Password: acct.Password, Name: nameOf(acct.Email), BypassKey: spec.BypassKey}
	_, e := profileCall(ctx, t, p.Auth.Register, f, spec.authURL(), PhaseRegister, "register", "")
	if e != nil {
		return e
	}
	return nil
}
