package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// Bounds of a chat journey's back-pressure handling: a 429 is retried
// after its Retry-After (default 1 s, at most maxRetryAfter) at most
// maxThrottleRetries times.
const (
	maxThrottleRetries = 3
	maxRetryAfter      = 10 * time.Second
)

// chatUser is one journey of a server-sent-event profile (an
// OpenAI-compatible chat completion server): each request is an HTTP POST
// answered by a stream; there is no login and no socket.
type chatUser struct {
	*user
	spec *ProfileSpec
}

// walk sends the journey's requests one after another and judges each
// stream.
func (u *chatUser) walk() *Error {
	p := u.spec.Profile
	for i := range u.opts.Messages {
		if err := u.ask(p, i); err != nil {
			return err
		}
	}
	u.sample(PhaseJourney, u.answer.Sub(u.res.Start))
	return nil
}

// ask sends request i, honouring 429s, and reads and judges its stream.
// The nonce is the prompt's first word, so that a deployment which
// answers with it shows whose answer it is.
func (u *chatUser) ask(p *profile.Profile, i int) *Error {
	nonce := "n" + strings.ToLower(u.opts.Nonce())
	content := nonce + " golden path question " + strconv.Itoa(i+1)
	f := profile.Fields{Model: u.spec.Model, Content: content, MessageID: nonce, RunID: nonce}
	body, err := profile.Render(p.Request.Body, f)
	if err != nil {
		return &Error{Kind: FailOptions, Phase: PhaseFirstToken, Message: "request.body: " + err.Error()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &Error{Kind: FailInternal, Phase: PhaseFirstToken, Message: "encode request: " + err.Error()}
	}
	u.trace("request "+strconv.Itoa(i+1)+": POST "+p.Stream.Path, b)
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.RunTimeout)
	defer cancel()
	var resp *http.Response
	var sent time.Time
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.t.BaseURL+p.Stream.Path, bytes.NewReader(b))
		if err != nil {
			return &Error{Kind: FailOptions, Phase: PhaseFirstToken, Message: err.Error()}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		if u.spec.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+u.spec.APIKey)
		}
		sent = time.Now()
		resp, err = u.t.HTTP.Do(req)
		if err != nil {
			return classify(u.ctx, PhaseFirstToken, err)
		}
		noteReply(ctx, resp.StatusCode)
		if resp.StatusCode != http.StatusTooManyRequests || attempt >= maxThrottleRetries {
			break
		}
		wait := retryAfter(resp.Header.Get("Retry-After"))
		_, _ = readReply(resp)
		u.res.Throttled++
		u.trace("429: waiting "+wait.String()+" (Retry-After)", nil)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			u.res.ThrottledWait += wait
		case <-ctx.Done():
			t.Stop()
			return classify(u.ctx, PhaseFirstToken, ctx.Err())
		}
	}
	if resp.StatusCode != http.StatusOK {
		rb, _ := readReply(resp)
		e := statusError(PhaseFirstToken, "POST "+p.Stream.Path, resp.StatusCode, rb)
		if resp.StatusCode == http.StatusTooManyRequests {
			e.Kind = FailThrottled
			e.Message += " (still refused after " + strconv.Itoa(maxThrottleRetries) + " waits of its Retry-After)"
		}
		if msg := openAIError(rb); msg != "" {
			e.Message += ": " + msg
		}
		return e
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		rb, _ := readReply(resp)
		return &Error{Kind: FailProtocol, Phase: PhaseFirstToken, Message: "POST " + p.Stream.Path + " with stream true answered " + strconv.Quote(ct) + ", want text/event-stream", Sample: sample(rb)}
	}
	s, rerr := ReadChatStream(io.LimitReader(resp.Body, maxBody), nil)
	resp.Body.Close()
	if rerr != nil {
		return classify(u.ctx, PhaseAnswer, rerr)
	}
	u.trace("stream "+s.ID+": "+strconv.Itoa(len(s.Tokens))+" tokens, finish_reason "+strconv.Quote(s.FinishReason), []byte(s.Content))
	u.judge(p, s, nonce, sent)
	return nil
}

// judge records a stream's timing points and its broken promises.
func (u *chatUser) judge(p *profile.Profile, s ChatStream, nonce string, sent time.Time) {
	ct := ChatTiming{E2E: s.End.Sub(sent), Complete: s.Done && s.FinishReason != "" && len(s.Problems) == 0 && len(s.Tokens) > 0}
	defer func() { u.res.Chat = append(u.res.Chat, ct) }()
	if d, ok := s.TTFT(sent); ok {
		u.sample(PhaseFirstToken, d)
		ct.TTFT = d
	}
	for _, d := range s.ITL() {
		u.sample(PhaseInterToken, d)
	}
	if d, ok := s.TPOT(); ok {
		u.sample(PhaseTPOT, d)
		ct.TPOT = d
	}
	u.sample(PhaseAnswer, s.End.Sub(sent))
	u.answer = s.End
	u.res.Tokens += len(s.Tokens)
	for _, pr := range s.Problems {
		u.violate(Violation{Kind: ViolationStream, Detail: "stream " + s.ID + ": " + pr})
	}
	switch {
	case len(s.Tokens) == 0:
		u.violate(Violation{Kind: ViolationStream, Detail: "stream " + s.ID + " streamed no content"})
	case p.Oracle.FirstTokenIsNonce && strings.TrimSpace(s.FirstToken) != nonce:
		ct.Complete = false
		u.violate(Violation{Kind: ViolationAnswerMismatch, Detail: "the first token is " + strconv.Quote(s.FirstToken) + ", not the request's nonce " + strconv.Quote(nonce) + ": the answer belongs to another request", Sample: sample([]byte(s.Content))})
	case p.Oracle.QuotesNonce && !strings.Contains(s.Content, nonce):
		u.violate(Violation{Kind: ViolationAnswerMismatch, Detail: "the answer does not quote the request's nonce " + strconv.Quote(nonce), Sample: sample([]byte(s.Content))})
	}
	if s.Done && s.FinishReason != "" {
		u.res.Runs++
	}
}

// retryAfter reads a Retry-After header in seconds (an HTTP date is not
// worth the parse here): default 1 s, at most maxRetryAfter. NaN, Inf and
// numbers too large for a Duration (whose conversion would overflow to a
// negative wait) are bounded before the conversion.
func retryAfter(h string) time.Duration {
	n, err := strconv.ParseFloat(strings.TrimSpace(h), 64)
	switch {
	case err != nil || !(n > 0):
		return time.Second
	case n >= maxRetryAfter.Seconds():
		return maxRetryAfter
	}
	return max(time.Duration(n*float64(time.Second)), time.Nanosecond)
}

// openAIError is the message of an OpenAI-shaped error body, redacted.
func openAIError(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
		return ""
	}
	return Redact(e.Error.Message)
}
