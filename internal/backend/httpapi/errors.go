package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Request body limits. A body over its limit is refused with 413 before it
// is read whole: at once when its Content-Length says so, else when the
// limit is reached (OWASP API4, unrestricted resource consumption).
const (
	// maxBody bounds every request body (the configuration's).
	maxBody = 1 << 20
	// maxSmallBody bounds the bodies of accounts and threads: credentials
	// and a title.
	maxSmallBody = 16 << 10
)

// statusOf maps a backend error code to its HTTP status: the one place
// where that mapping lives.
func statusOf(code string) int {
	switch code {
	case backend.EINVALID:
		return http.StatusBadRequest
	case backend.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case backend.EFORBIDDEN:
		return http.StatusForbidden
	case backend.ENOTFOUND:
		return http.StatusNotFound
	case backend.ECONFLICT:
		return http.StatusConflict
	case backend.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case backend.ERATELIMITED:
		return http.StatusTooManyRequests
	case backend.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers err as {"error":{"code","message"}} with the status of its
// code. The message is [backend.PublicMessage]'s: a store's or driver's
// text never reaches the client; when it was held back, or the error is
// internal, the whole error is logged here instead. A 401 carries a Bearer
// challenge, a 429 a Retry-After.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := backend.ErrorCode(err)
	status := statusOf(code)
	msg := backend.PublicMessage(err)
	switch {
	case status == http.StatusInternalServerError:
		a.Log.Error("httpapi: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	case msg != backend.ErrorMessage(err):
		a.Log.Info("httpapi: error answered without its details", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
	}
	var th *auth.Throttled
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
	}
	a.reply(w, r, status, protocol.HTTPError{Error: protocol.ErrorBody{Code: code, Message: msg}})
}

// tooLarge is the error of a body over limit bytes.
func tooLarge(limit int64) error {
	return backend.Errorf(backend.ETOOLARGE, "request body over %d bytes", limit)
}

// limitBodies refuses a request whose Content-Length is over [maxBody]
// before anything reads it, and bounds every other body to maxBody.
func (a *api) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			w.Header().Set("Connection", "close") // the rest of the body is not read
			a.fail(w, r, tooLarge(maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// decode reads a JSON body of at most limit bytes into v, refusing unknown
// fields and trailing data. A body over the limit is ETOOLARGE, refused
// unread when its Content-Length says so.
func decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		return tooLarge(limit)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return backend.Errorf(backend.EINVALID, "request body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return backend.Errorf(backend.EINVALID, "request body has data after the JSON object")
	}
	return nil
}
