package moderation

import (
	"context"
	"time"
)

// AdminStore is the part of Store the admin page's features need: sessions,
// moderator changes, per-status counts, replies as the site and audit
// entries for actions that are not comment moves.
type AdminStore interface {
	// CreateSession stores a new session under its ID.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns one session by ID, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// TouchSession records a session's last use; ErrNotFound if it is gone.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSessions removes every session for which match reports true.
	DeleteSessions(ctx context.Context, match func(*Session) bool) error

	// EditModerator loads the named moderator and every moderator, and calls
	// edit in one transaction. edit changes m in place, or asks for its
	// removal (which also ends its sessions); it returns the audit entry to
	// record. ErrNotFound when there is no such moderator.
	EditModerator(ctx context.Context, name string, edit func(m *Moderator, all []*Moderator) (remove bool, entry *AuditEntry, err error)) error

	// StatusCounts returns how many comments each listable status holds.
	StatusCounts(ctx context.Context, site string) (map[Status]int, error)

	// PublishReply loads reply.Parent and calls approve on it, then stores
	// the parent if approve changed it and the reply, with both audit
	// entries, in one transaction. ErrNotFound if the parent is missing.
	PublishReply(ctx context.Context, reply *Comment, approve func(parent *Comment) (changed *AuditEntry, err error), entry *AuditEntry) error

	// RecordAudit appends one entry to the audit log of e.Site ("" for the
	// instance's).
	RecordAudit(ctx context.Context, e *AuditEntry) error
}
