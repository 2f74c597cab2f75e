package journey

import (
	"strconv"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// maxMissing bounds the missing seqs a profile oracle remembers.
const maxMissing = 256

// profileOracle judges the frames of one socket of a profile-driven
// journey. It knows the target only through the profile: without sequence
// numbers, order is judged by the grammar of each run (started, then
// thinking and tool calls, then the end); ownership by the user id the
// events carry, the run ids this socket asked for, and, when the profile
// says the answer quotes its request, the nonce. It is not safe for
// concurrent use.
type profileOracle struct {
	p       *profile.Profile
	userID  string
	foreign ForeignFunc

	runs []*prun // a journey's requests: a short slice

	seqSeen bool
	maxSeq  int64
	missing map[int64]bool // seqs skipped and not yet arrived
	out     []Violation
}

// prun is what the oracle knows of one request.
type prun struct {
	id, nonce string
	started   bool
	tools     int // tool calls open
	ended     bool
}

func newProfileOracle(p *profile.Profile, userID string, foreign ForeignFunc) *profileOracle {
	return &profileOracle{p: p, userID: userID, foreign: foreign}
}

// expect registers a request: its id (what the profile's message_id path
// reads back) and the nonce its answer must quote.
func (o *profileOracle) expect(id, nonce string) {
	o.runs = append(o.runs, &prun{id: id, nonce: nonce})
}

func (o *profileOracle) run(id string) *prun {
	for _, r := range o.runs {
		if r.id == id {
			return r
		}
	}
	return nil
}

func (o *profileOracle) report(kind, detail string, frame []byte) {
	o.out = append(o.out, Violation{Kind: kind, Detail: detail, Sample: sample(frame)})
}

// observe reads frame through the profile and judges it. It returns the
// event (zero when the frame could not be read) and the violations found.
func (o *profileOracle) observe(frame []byte, text bool) (profile.Event, []Violation) {
	o.out = nil
	if !text {
		o.report(ViolationBadEnvelope, "a binary frame; the profile's events are JSON text frames", frame)
	}
	if o.foreign != nil {
		if owner, found := o.foreign(frame); found && owner != o.userID {
			o.report(ViolationForeignData, "frame carries data of user "+owner, frame)
		}
	}
	e, err := o.p.Read(frame)
	if err != nil {
		o.report(ViolationBadEnvelope, err.Error(), frame)
		return profile.Event{}, o.out
	}
	if e.HasSeq {
		o.seq(e.Seq, frame)
	}
	switch e.Kind {
	case profile.KindIgnore, profile.KindUnknown:
		return e, o.out
	}
	if e.UserID != "" && o.userID != "" && e.UserID != o.userID {
		o.report(ViolationForeignUser, e.Type+" carries user_id "+strconv.Quote(e.UserID)+", not this socket's "+strconv.Quote(o.userID), frame)
		return e, o.out
	}
	id := e.MessageID
	if id == "" {
		id = e.RunID
	}
	r := o.run(id)
	if r == nil {
		// The user's own other runs (an earlier journey's late events, or a
		// server that fans a user's events out to every socket) are not
		// contamination when the event says whose it is; without a user id
		// an unknown run on this socket cannot be told apart from another
		// user's.
		if e.UserID == "" && o.p.Events.UserID == "" {
			o.report(ViolationForeignMessage, e.Type+" of run "+strconv.Quote(id)+", which this socket never asked for", frame)
		}
		return e, o.out
	}
	o.grammar(r, e, frame)
	return e, o.out
}

// grammar judges one event of r against the golden-path grammar.
func (o *profileOracle) grammar(r *prun, e profile.Event, frame []byte) {
	if r.ended {
		o.report(ViolationGrammar, e.Type+" after the end of run "+strconv.Quote(r.id), frame)
		return
	}
	hasStarted := len(o.p.Events.Map.Started) > 0
	if e.Kind != profile.KindStarted && e.Kind != profile.KindError && hasStarted && !r.started {
		o.report(ViolationGrammar, e.Type+" before the run's start ("+strings.Join(o.p.Events.Map.Started, ", ")+")", frame)
		r.started = true // reported once
	}
	switch e.Kind {
	case profile.KindStarted:
		if r.started {
			o.report(ViolationGrammar, "a second "+e.Type+" in run "+strconv.Quote(r.id), frame)
		}
		r.started = true
	case profile.KindToolStart:
		r.tools++
	case profile.KindToolEnd:
		if r.tools == 0 {
			o.report(ViolationGrammar, e.Type+" without a tool call open in run "+strconv.Quote(r.id), frame)
		} else {
			r.tools--
		}
	case profile.KindCompleted:
		if !e.Ends {
			return // a sub-agent's completion: the run goes on
		}
		r.ended = true
		o.answer(r, e, frame)
	case profile.KindError:
		r.ended = true
	}
}

// answer judges a run's answer: it must be there, and quote its own
// request's nonce and no other request's, when the profile says answers
// quote their request.
func (o *profileOracle) answer(r *prun, e profile.Event, frame []byte) {
	if !o.p.Oracle.QuotesNonce {
		return
	}
	if !strings.Contains(e.Answer, r.nonce) {
		detail := "the answer of run " + strconv.Quote(r.id) + " does not quote its request's nonce " + strconv.Quote(r.nonce)
		if e.Answer == "" {
			detail = "the end of run " + strconv.Quote(r.id) + " carries no answer at " + strings.Join(o.p.Events.Answer, " or ")
		}
		for _, other := range o.runs {
			if other != r && strings.Contains(e.Answer, other.nonce) {
				detail = "the answer of run " + strconv.Quote(r.id) + " quotes the request of run " + strconv.Quote(other.id)
			}
		}
		o.report(ViolationAnswerMismatch, detail, frame)
	}
}

// seq judges a sequence number: each frame one above the last.
func (o *profileOracle) seq(n int64, frame []byte) {
	switch {
	case !o.seqSeen:
		o.seqSeen, o.maxSeq = true, n
	case n == o.maxSeq+1:
		o.maxSeq = n
	case n > o.maxSeq+1:
		if o.missing == nil {
			o.missing = map[int64]bool{}
		}
		for s := o.maxSeq + 1; s < n && len(o.missing) < maxMissing; s++ {
			o.missing[s] = true
		}
		o.maxSeq = n
	case o.missing[n]:
		delete(o.missing, n)
		o.report(ViolationSeqReorder, "seq "+strconv.FormatInt(n, 10)+" arrived after seq "+strconv.FormatInt(o.maxSeq, 10), frame)
	default:
		o.report(ViolationSeqDuplicate, "seq "+strconv.FormatInt(n, 10)+" arrived again", frame)
	}
}

// done returns what the socket's end shows: seqs that never arrived and
// runs that never ended.
func (o *profileOracle) done() []Violation {
	var vs []Violation
	if n := len(o.missing); n > 0 {
		vs = append(vs, Violation{Kind: ViolationSeqGap, Detail: strconv.Itoa(n) + " seq numbers never arrived"})
	}
	for _, r := range o.runs {
		if !r.ended {
			vs = append(vs, Violation{Kind: ViolationMissingTerm, Detail: "run " + strconv.Quote(r.id) + " never ended"})
		}
	}
	return vs
}
