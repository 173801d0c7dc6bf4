package cli

import (
	"io"
	"sync"
	"time"
)

// logWriter batches log lines, so that requests do not each pay a write(2)
// for their access log line. A line waits at most logDelay, or until
// logBatch bytes are waiting, whichever comes first; the request whose
// line fills the batch writes it. Every line is kept, in order. A timer
// started by the first line of a batch does the writing when traffic is
// light: nothing runs while the log is idle, and no goroutine is woken
// per line (measured under load, a wake-up per line cost more than the
// write it saved).
type logWriter struct {
	w io.Writer

	writing sync.Mutex // held while a batch is written, so that batches go out in order

	mu     sync.Mutex
	buf    []byte      // lines waiting
	spare  []byte      // the previous batch, reused
	timer  *time.Timer // the pending flush; nil when nothing waits
	closed bool
}

const (
	logDelay = 50 * time.Millisecond
	logBatch = 64 << 10
)

func newLogWriter(w io.Writer) *logWriter { return &logWriter{w: w} }

// Write queues p, one whole log record (slog writes each record in one
// call). Errors writing the log have nowhere to go, so it reports none.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed { // after Close, lines go straight out
		l.mu.Unlock()
		l.writing.Lock()
		defer l.writing.Unlock()
		_, _ = l.w.Write(p)
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= logBatch
	if !full && l.timer == nil {
		l.timer = time.AfterFunc(logDelay, func() { _ = l.flush() })
	}
	l.mu.Unlock()
	if full {
		_ = l.flush()
	}
	return len(p), nil
}

// flush writes the lines waiting.
func (l *logWriter) flush() error {
	l.writing.Lock()
	defer l.writing.Unlock()
	l.mu.Lock()
	batch := l.buf
	l.buf = l.spare
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	_, err := l.w.Write(batch)
	l.mu.Lock()
	l.spare = batch[:0]
	l.mu.Unlock()
	return err
}

// Close writes the lines still waiting; later lines are written at once.
func (l *logWriter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.flush()
}
