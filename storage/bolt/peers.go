package bolt

import (
	"context"
	"fmt"
	"time"

	"parley/moderation"
)

// A bbolt file is open in one process at a time (Open takes its lock), so
// that process has no peers: nothing to announce, nothing to hear, and every
// lease is its own.

// Announce does nothing: no other process shares the file. It refuses what
// would be too long on a backend with peers, so that a bug shows here too.
func (db *DB) Announce(_ context.Context, msg []byte) error {
	if len(msg) > moderation.MaxAnnounce {
		return fmt.Errorf("announce: %d bytes is more than %d", len(msg), moderation.MaxAnnounce)
	}
	return nil
}

// Listen waits for ctx to end: no other process announces anything.
func (db *DB) Listen(ctx context.Context, _ func([]byte), _ func()) error {
	<-ctx.Done()
	return nil
}

// Lease is always held: no other process could hold it.
func (db *DB) Lease(context.Context, string, time.Duration) (bool, error) { return true, nil }
