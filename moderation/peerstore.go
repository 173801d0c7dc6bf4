package moderation

import (
	"context"
	"time"
)

// PeerStore lets the processes that share one database (several `parley
// serve` on PostgreSQL) tell each other what they changed, so that what each
// keeps in memory (read caches, the site index, classifier models, the admin
// page's live queue) follows the others' changes, and lets them share out
// work that must run once. With one process (bbolt) there is nobody to tell:
// Announce does nothing and every lease is held.
type PeerStore interface {
	// Announce tells every other process on this database of msg, which
	// describes a change that committed (see Service.FollowPeers). msg is
	// at most MaxAnnounce bytes; a longer one is an error. Delivery is best
	// effort: a process that was not listening misses it, and resyncs.
	Announce(ctx context.Context, msg []byte) error

	// Listen hands deliver each message other processes Announce, in the
	// order each sent them, on one goroutine, skipping this process's own.
	// It calls resync once listening has started: whatever was announced
	// before then is lost, so what was built from the database must be
	// dropped. It returns nil when ctx ends, or an error when it cannot
	// start or loses the database, after which the caller listens again
	// (and so resyncs). With one process it calls neither deliver nor
	// resync, and only waits for ctx.
	Listen(ctx context.Context, deliver func(msg []byte), resync func()) error

	// Lease reports whether this process holds the lease called name for
	// the coming period: it takes the lease when nobody holds it or the
	// holder's period ran out, and renews it when it holds it already. A
	// process that calls it once per period with the same period keeps it
	// while it lives; when it stops, another takes over within a period.
	// With one process it is always held.
	Lease(ctx context.Context, name string, period time.Duration) (bool, error)
}

// MaxAnnounce is the longest message Announce takes, in bytes: PostgreSQL's
// NOTIFY carries less than 8000, and the backend adds its own few.
const MaxAnnounce = 7000
