package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// bodyFailure is a request body the client did not finish sending: cut off,
// reset or stalled past the read timeout. It is the client's doing, so it
// answers 400 (or 408 for a stall), logs at INFO and counts as an aborted
// submission: it must never page the operator.
type bodyFailure struct {
	timeout bool
	err     error // the transport's error, never shown
}

func (f *bodyFailure) Error() string { return f.coded().Message + " (" + f.err.Error() + ")" }

// Unwrap gives the coded error that handleError answers with.
func (f *bodyFailure) Unwrap() error { return f.coded() }

func (f *bodyFailure) coded() *moderation.Error {
	if f.timeout {
		return errBodyTimeout
	}
	return errBodyCut
}

var (
	errBodyCut     = moderation.Errorf(moderation.CodeValidation, "The request ended before its body was complete. Please send it again.")
	errBodyTimeout = moderation.Errorf(moderation.CodeTimeout, "The request body arrived too slowly and the server stopped waiting. Please send it again.")
)

// watchedBody remembers the first error that reading the request body itself
// gave. Decoders wrap and transform read errors, so this is how a failure of
// the client's transport is told apart from content that is wrong.
type watchedBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

// watchBody wraps r's body. Install it before any size limit of the
// handler's own, whose errors are not the transport's.
func watchBody(r *http.Request) *watchedBody {
	w := &watchedBody{ReadCloser: r.Body}
	r.Body = w
	return w
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !isLimit(err) {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return n, err
}

// failure returns the body's transport failure, or nil when the body read
// cleanly (so far).
func (w *watchedBody) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return nil
	}
	var ne net.Error
	return &bodyFailure{timeout: errors.As(w.err, &ne) && ne.Timeout(), err: w.err}
}

// isLimit reports whether err is a body size limit's refusal (413).
func isLimit(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge)
}
