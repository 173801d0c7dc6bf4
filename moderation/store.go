package moderation

import (
	"context"
	"time"
)

// Store is the whole contract between the domain and a database. Every
// backend (storage/bolt, storage/postgres) implements all of it, and the
// storage/storetest suite holds each one to it; the sections below only name
// its parts. Every method that changes data does its checks and its writes
// in one transaction. Comments, threads, counts and audit entries belong to
// one site: every method that reaches them takes the site's id, and a
// comment of another site is ErrNotFound.
type Store interface {
	SiteStore
	CommentStore
	ClaimStore
	AdminStore
	AccountStore
	CommenterStore
	BlocklistStore
	TransferStore
	OutboxStore
	DumpStore
	PeerStore

	// Ping reports whether the database answers and holds a schema.
	Ping(ctx context.Context) error
	// Stats returns the database's own gauges and counters, for metrics.
	Stats() StoreStats
	// Close releases the database.
	Close() error
}

// CommentStore keeps comments, their threads, counts and audit entries, and
// the classifier's counts learned from them.
type CommentStore interface {
	// CreateComment stores a new comment on site c.Site (ErrNotFound if
	// there is no such site). When c.Parent is set it loads the parent of
	// the same site in the same transaction and calls attach, which may refuse (its
	// error is returned as is) or re-attach c. ErrConflict if c.ID exists,
	// ErrNotFound (wrapped in a ValidationError by attach) for a missing parent.
	CreateComment(ctx context.Context, c *Comment, attach func(parent *Comment) error) error

	// Comment returns one comment, or ErrNotFound.
	Comment(ctx context.Context, site, id string) (*Comment, error)

	// Thread returns the approved comments of a post, oldest first, plus the
	// tombstones that approved replies hang from. An unknown post is empty.
	// Only what readers may see is filled in (ID, Post, Parent, Depth,
	// Author, Website, HTML, Status, Site, Created): the public read path
	// never holds an email, IP hash, raw body or history.
	Thread(ctx context.Context, site, post string) ([]*Comment, error)

	// ApprovedCounts returns the approved count of each post; unknown posts are 0.
	ApprovedCounts(ctx context.Context, site string, posts []string) (map[string]int, error)

	// Comments lists comments of one status on site q.Site, oldest first, from after
	// q.Cursor; it returns the cursor of the next page or "".
	Comments(ctx context.Context, q Query) ([]*Comment, string, error)

	// UpdateComments loads every id and calls change on it, all in one
	// transaction: if any id is missing (ErrNotFound) or change fails, nothing
	// is written. change returns the audit entry of a real change, or nil when
	// the comment was left as it was.
	UpdateComments(ctx context.Context, site string, ids []string, change func(c *Comment) (*AuditEntry, error)) error

	// DeleteComments is UpdateComments for removal: change turns each comment
	// into a tombstone, which is kept only while replies hang from it.
	DeleteComments(ctx context.Context, site string, ids []string, change func(c *Comment) (*AuditEntry, error)) error

	// AuditLog returns a site's entries newest first (site "" for the
	// instance's own: sites and people), starting before sequence number
	// before (0 for the newest).
	AuditLog(ctx context.Context, site string, limit int, before uint64) ([]AuditEntry, error)

	// Model returns a site's spam model's stored counts (each site learns
	// from its own decisions only): fn (when not nil) gets
	// every feature bucket with a count, and Model returns the classifier
	// version it was built for (0 when never built) and how many ham and
	// spam comments it learned. Every write of a comment keeps it current,
	// in the same transaction: when Trained differs from what is recorded
	// for the comment, the recorded training comes out of the counts and the
	// new one goes in. UpdateComments, DeleteComments and PublishReply fill
	// in Trained as recorded when they load a comment. A comment deleted or
	// made a tombstone loses its record and keeps its counts.
	// ErrNotFound when there is no such site.
	Model(ctx context.Context, site string, fn func(hash, ham, spam uint32)) (version, ham, spam int, err error)

	// RebuildModel empties a site's model, records for every comment of the
	// site what train returns for it and counts that in, and records
	// version, all in one transaction.
	RebuildModel(ctx context.Context, site string, version int, train func(c *Comment) *Training) error
}

// AccountStore keeps moderators, API tokens and server secrets.
type AccountStore interface {
	// CreateModerator adds a moderator; ErrConflict if the name is taken.
	CreateModerator(ctx context.Context, m *Moderator) error
	// Moderator returns one moderator by name, or ErrNotFound.
	Moderator(ctx context.Context, name string) (*Moderator, error)
	// Moderators lists every moderator by name.
	Moderators(ctx context.Context) ([]*Moderator, error)

	// CreateToken stores an API token by the hash of its secret.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose secret hashes to hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// TouchToken records when a token was last used.
	TouchToken(ctx context.Context, hash string, at time.Time) error
	// Tokens lists every token (hashes included, secrets never stored).
	Tokens(ctx context.Context) ([]*Token, error)
	// DeleteToken revokes a token by ID; ErrNotFound if there is none.
	DeleteToken(ctx context.Context, id string) error

	// Secret returns the named server secret, creating size random bytes the
	// first time it is asked for.
	Secret(ctx context.Context, name string, size int) ([]byte, error)

	// RotateSecret replaces the named secret with size fresh random bytes.
	RotateSecret(ctx context.Context, name string, size int) error
}

// StoreStats are a database's own gauges and counters, named by each backend
// (bbolt: the file's size and pages; PostgreSQL: its connection pool).
type StoreStats []StoreStat

// StoreStat is one figure of StoreStats.
type StoreStat struct {
	Name    string // exported as parley_db_<Name>
	Help    string
	Counter bool // only ever grows; else a gauge
	Value   float64
}

// Query selects comments for moderators.
type Query struct {
	Site   string
	Status Status
	Post   string // "" for every post
	Limit  int
	Cursor string // the last ID of the previous page
	Search string // "" for all; else see Query.Matches

	// The service handles these from the classifier's scores; stores
	// ignore them.
	Sort     string  // "" (oldest first) or SortScore
	MinScore float64 // only comments scored at least this; 0 for all
}

// SortScore lists comments by the classifier's score, highest first.
const SortScore = "score"

// AuditEntry records one moderator action.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Site    string    `json:"site,omitempty"` // "" for the instance's own entries
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Comment string    `json:"comment,omitempty"`
	Post    string    `json:"post,omitempty"`
	Detail  string    `json:"detail,omitempty"` // for actions on no comment, e.g. "ada as moderator"
	From    string    `json:"from,omitempty"`   // the actor's IP hash
}
