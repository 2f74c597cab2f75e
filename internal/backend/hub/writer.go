package hub

import (
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
