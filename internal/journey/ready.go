package journey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// ErrUnreachable wraps failures to reach a target or find it ready.
var ErrUnreachable = errors.New("target unreachable or not ready")

// WaitReady polls GET /readyz until it answers 200 or timeout passes. A
// target without /readyz (404) is accepted when /healthz or / answers.
func WaitReady(ctx context.Context, baseURL string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, err := get(ctx, hc, baseURL+protocol.PathReadyz)
		switch {
		case err != nil:
			last = err.Error()
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusNotFound:
			if r2, err := get(ctx, hc, baseURL+protocol.PathHealthz); err == nil && r2.StatusCode == http.StatusOK {
				return nil
			}
			last = "/readyz and /healthz not found"
		default:
			last = fmt.Sprintf("/readyz answered %d", resp.StatusCode)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w: %s: %s (waited %s)", ErrUnreachable, baseURL, last, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp, nil
}
