package hub

import (
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// frameWriter numbers and writes frames for one connection. Only the
// connection's current drain goroutine uses it.
type frameWriter struct {
	c    *conn
	seq  int64
	held *frame // fault reorder-events: a frame held back behind the next
	buf  []byte
}

func (w *frameWriter) write(f frame) error {
	faults := w.c.h.faults
	if !protocol.IsRunEvent(f.typ) || (faults.DropEvents == 0 && faults.DuplicateEvents == 0 && faults.ReorderEvents == 0) {
		return w.flushAfter(f)
	}
	n := w.c.h.runFrames.Add(1) // counted across the hub: one run frame in N of all
	switch {
	case faults.DropEvents > 0 && n%int64(faults.DropEvents) == 0:
		w.seq++ // fault drop-events: the frame's seq is spent, the frame lost
		return nil
	case faults.DuplicateEvents > 0 && n%int64(faults.DuplicateEvents) == 0:
		w.seq++ // fault duplicate-events: the same frame, same seq, twice
		if err := w.emit(f, w.seq); err != nil {
			return err
		}
		return w.emit(f, w.seq)
	case faults.ReorderEvents > 0 && n%int64(faults.ReorderEvents) == 0 && !protocol.IsTerminal(f.typ) && w.held == nil:
		w.seq++ // fault reorder-events: numbered now, written after the next frame
		g := f
		w.held = &g
		return nil
	}
	return w.flushAfter(f)
}

// flushAfter writes f and then any held frame (so the held one steps back).
func (w *frameWriter) flushAfter(f frame) error {
	held := w.held
	heldSeq := w.seq
	w.seq++
	if err := w.emit(f, w.seq); err != nil {
		return err
	}
	if held != nil {
		w.held = nil
		return w.emit(*held, heldSeq)
	}
	return nil
}

// emit writes one envelope {"type","seq","timestamp","data"}.
func (w *frameWriter) emit(f frame, seq int64) error {
	b := w.buf[:0]
	b = append(b, `{"type":"`...)
	b = append(b, f.typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"timestamp":"`...)
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	b = append(b, f.data...)
	b = append(b, '}')
	if cap(b) <= 4<<10 { // keep small buffers only: idle connections stay light
		w.buf = b
	}
	_ = w.c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := w.c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return err
	}
	w.c.h.sent(f.typ)
	return nil
}

// queuedRuns is how many runs have frames in batch.
func queuedRuns(batch []frame) int {
	var seen []*emitter
	for _, f := range batch {
		if f.run != nil && !slices.Contains(seen, f.run) {
			seen = append(seen, f.run)
		}
	}
	return len(seen)
}

// writeGrouped is the queue-reorder fault: it numbers batch's frames in
// queue order, as a correct writer would, but writes them grouped by run,
// the run that queued last first (the connection's own frames before
// all), so a later run's frames overtake an earlier one's lower seqs: seq
// steps back whenever two runs share a batch. One run per connection never
// shows it.
func (w *frameWriter) writeGrouped(batch []frame) error {
	type numbered struct {
		f     frame
		seq   int64
		group int
	}
	var runs []*emitter
	out := make([]numbered, len(batch))
	for i, f := range batch {
		w.seq++
		g := 0
		if f.run != nil {
			g = slices.Index(runs, f.run)
			if g < 0 {
				runs = append(runs, f.run)
				g = len(runs) - 1
			}
			g++
		}
		out[i] = numbered{f, w.seq, g}
	}
	slices.SortStableFunc(out, func(a, b numbered) int {
		if a.group == 0 || b.group == 0 {
			return a.group - b.group // the connection's own frames first
		}
		return b.group - a.group // then the newest run's
	})
	for _, n := range out {
		if err := w.emit(n.f, n.seq); err != nil {
			return err
		}
	}
	return nil
}
