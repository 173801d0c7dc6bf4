package cli

import (
	"io"
	"sync"
)

// logWriter hands log lines to a goroutine that writes them, so that a
// request does not wait for a write(2) of its own access log line. It keeps
// every line and their order. When the log is quiet each line is written at
// once; when lines come faster than one write each, those that arrive
// during a write go out together in the next: under load, one write carries
// dozens of lines. Past maxLogBuffer bytes waiting, writers wait, as they
// would for a slow stderr without it.
type logWriter struct {
	w    io.Writer
	wake chan struct{} // holds one token while lines wait
	done chan struct{} // closed when the writing goroutine has ended

	mu      sync.Mutex
	drained sync.Cond // signalled after each write
	buf     []byte    // lines waiting
	spare   []byte    // the previous batch, reused
	closed  bool
}

// maxLogBuffer bounds the bytes of lines waiting to be written.
const maxLogBuffer = 1 << 20

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.drained.L = &l.mu
	go l.run()
	return l
}

// Write queues p, one whole log record (slog writes each record in one
// call), and never fails: errors writing a log have nowhere to go.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.buf) >= maxLogBuffer && !l.closed {
		l.drained.Wait()
	}
	if l.closed { // after Close, lines go straight out
		_, _ = l.w.Write(p)
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logWriter) run() {
	defer close(l.done)
	for range l.wake {
		l.mu.Lock()
		batch := l.buf
		l.buf = l.spare[:0]
		l.mu.Unlock()
		if len(batch) > 0 {
			_, _ = l.w.Write(batch)
		}
		l.mu.Lock()
		l.spare = batch
		l.drained.Broadcast()
		l.mu.Unlock()
	}
}

// Close writes the lines still waiting and returns once they are out.
func (l *logWriter) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.wake)
		l.drained.Broadcast()
	}
	l.mu.Unlock()
	<-l.done
	// run may have taken its last token before the final lines came.
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = nil
	return err
}
