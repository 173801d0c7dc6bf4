package bolt

import (
	"context"
	"time"
)

// A bbolt file is open in one process at a time (Open takes its lock), so
// that process has no peers: nothing to announce, nothing to hear, and every
// lease is its own.

// Announce does nothing: no other process shares the file.
func (db *DB) Announce(context.Context, []byte) error { return nil }

// Listen waits for ctx to end: no other process announces anything.
func (db *DB) Listen(ctx context.Context, _ func([]byte), _ func()) error {
	<-ctx.Done()
	return nil
}

// Lease is always held: no other process could hold it.
func (db *DB) Lease(context.Context, string, time.Duration) (bool, error) { return true, nil }
