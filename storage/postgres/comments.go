package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"parley/moderation"
)

var _ moderation.Store = (*DB)(nil)

// CreateComment implements moderation.CommentStore.
func (db *DB) CreateComment(ctx context.Context, c *moderation.Comment, attach func(parent *moderation.Comment) error) error {
	return db.create(ctx, c, nil, attach)
}

// CreateCommentClaiming implements moderation.ClaimStore.
func (db *DB) CreateCommentClaiming(ctx context.Context, c *moderation.Comment, claims []moderation.Claim,
	attach func(parent *moderation.Comment) error) error {
	return db.create(ctx, c, claims, attach)
}

// create stores a new comment in at most two round trips, the submission's
// hot path. A top-level comment has nothing to read first when its claims
// are free, as they usually are: its writes go as one batch, which
// PostgreSQL runs as one implicit transaction (one Sync), and a claim found
// held undoes them. A reply, or a comment whose claim is held, reads first
// (its parent, its claims), so its transaction is spelled out: BEGIN
// travels with the reads and COMMIT with the writes. Each try starts from c
// as it was given, since Taken and attach may change it.
func (db *DB) create(ctx context.Context, c *moderation.Comment, claims []moderation.Claim, attach func(parent *moderation.Comment) error) error {
	parentID, status, history := c.Parent, c.Status, c.History
	return retry(ctx, func() error {
		c.Parent, c.Status, c.History = parentID, status, history
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if parentID == "" {
			w := newCommentWrites(&pgx.Batch{})
			if len(claims) > 0 {
				queueTakeFree(w.batch, claims)
			}
			if err := w.put(nil, c); err != nil {
				return err
			}
			if err := w.send(ctx, conn); !claimHeld(err) {
				return err
			}
		}
		return createReading(ctx, conn, c, parentID, claims, attach)
	})
}

// createReading is create's explicit transaction: the reads, the domain's
// callbacks, the writes. A site that does not exist fails the comment's
// insert (its foreign key), so it is looked up only when a parent is not
// found, to tell that apart.
func createReading(ctx context.Context, conn *pgxpool.Conn, c *moderation.Comment, parentID string, claims []moderation.Claim,
	attach func(parent *moderation.Comment) error) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	held := queueClaims(b, claims)
	var parent *moderation.Comment
	if parentID != "" {
		// The key share lock keeps the parent from being removed (by
		// DeleteComments, which locks it for update) until the reply is in.
		b.Queue(`SELECT doc FROM comments WHERE site = $1 AND id = $2 FOR KEY SHARE`, c.Site, parentID).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var doc []byte
				if err := rows.Scan(&doc); err != nil {
					return err
				}
				var p moderation.Comment
				if err := json.Unmarshal(doc, &p); err != nil {
					return fmt.Errorf("comment %q: %w", parentID, err)
				}
				parent = &p
			}
			return rows.Err()
		})
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return rollback(ctx, conn, err)
	}
	if err := held.lockRaced(ctx, conn); err != nil {
		return rollback(ctx, conn, err)
	}
	if parentID != "" && parent == nil {
		b := &pgx.Batch{}
		queueSiteCheck(b, c.Site)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return rollback(ctx, conn, err)
		}
	}
	for _, cl := range claims {
		if held.taken(cl.Key, c) {
			if err := cl.Taken(c); err != nil {
				return rollback(ctx, conn, err)
			}
		}
	}
	if parentID != "" {
		if err := attach(parent); err != nil {
			return rollback(ctx, conn, err)
		}
	}
	w := newCommentWrites(&pgx.Batch{})
	if err := w.put(nil, c); err != nil {
		return rollback(ctx, conn, err)
	}
	held.queueRecord(w.batch)
	w.flush()
	w.batch.Queue("COMMIT")
	if err := conn.SendBatch(ctx, w.batch).Close(); err != nil {
		return rollback(ctx, conn, err)
	}
	return nil
}

// rollback ends the open transaction on conn after err. Should that fail,
// the pool drops the connection when it comes back in a transaction.
func rollback(ctx context.Context, conn *pgxpool.Conn, err error) error {
	if conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

// Comment implements moderation.CommentStore.
func (db *DB) Comment(ctx context.Context, site, id string) (*moderation.Comment, error) {
	var doc []byte
	if err := db.pool.QueryRow(ctx, `SELECT doc FROM comments WHERE site = $1 AND id = $2`, site, id).Scan(&doc); err != nil {
		return nil, fmt.Errorf("comment %q: %w", id, mapError(err))
	}
	return decodeComment(doc, nil)
}

// decodeComment decodes a stored comment and its training record (nil for
// none) into a new Comment.
func decodeComment(doc, training []byte) (*moderation.Comment, error) {
	var c moderation.Comment
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("stored comment: %w", err)
	}
	if training != nil {
		c.Trained = new(moderation.Training)
		if err := json.Unmarshal(training, c.Trained); err != nil {
			return nil, fmt.Errorf("comment %s's training: %w", c.ID, err)
		}
	}
	return &c, nil
}

// ApprovedCounts implements moderation.CommentStore from post_counts, kept
// by every status change.
func (db *DB) ApprovedCounts(ctx context.Context, site string, posts []string) (map[string]int, error) {
	out := make(map[string]int, len(posts))
	for _, p := range posts {
		out[p] = 0
	}
	b := &pgx.Batch{}
	queueSiteCheck(b, site)
	if len(posts) > 0 {
		b.Queue(`SELECT post, approved FROM post_counts WHERE site = $1 AND post = ANY($2)`, site, posts).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var post string
				var n int64
				if err := rows.Scan(&post, &n); err != nil {
					return err
				}
				out[post] = int(n)
			}
			return rows.Err()
		})
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// listChunk is how many rows a search reads at a time while it looks for
// a page of matches.
const listChunk = 200

// Comments implements moderation.CommentStore. A search narrows the rows in
// the database first with searchPrefilter, and q.Matches decides.
func (db *DB) Comments(ctx context.Context, q moderation.Query) ([]*moderation.Comment, string, error) {
	if !q.Status.Valid() { // tombstones are never listed
		b := &pgx.Batch{}
		queueSiteCheck(b, q.Site)
		return nil, "", mapError(db.pool.SendBatch(ctx, b).Close())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = int(^uint(0) >> 2)
	}
	chunk := limit + 1
	if q.Search != "" {
		chunk = max(chunk, listChunk)
	}
	term, filtered := searchPrefilter(q.Search)
	var out []*moderation.Comment
	next := ""
	for after, first := q.Cursor, true; ; first = false {
		b := &pgx.Batch{}
		if first {
			queueSiteCheck(b, q.Site)
		}
		n := 0
		b.Queue(`SELECT id, doc FROM comments
			WHERE site = $1 AND status = $2 AND id > $3 AND ($4 = '' OR post = $4)
				AND (NOT $5 OR strpos(translate(doc::text, $6, $7), $8) > 0)
			ORDER BY id LIMIT $9`,
			q.Site, string(q.Status), after, q.Post, filtered, asciiUpper, asciiLower, term, chunk).Query(func(rows pgx.Rows) error {
			for rows.Next() && next == "" {
				n++
				var doc []byte
				if err := rows.Scan(&after, &doc); err != nil {
					return err
				}
				c, err := decodeComment(doc, nil)
				if err != nil {
					return err
				}
				switch {
				case !q.Matches(c):
				case len(out) == limit:
					next = out[len(out)-1].ID
				default:
					out = append(out, c)
				}
			}
			return rows.Err()
		})
		if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, "", mapError(err)
		}
		if next != "" || n < chunk {
			return out, next, nil
		}
	}
}

// The characters that strings.ToLower turns into ASCII letters, and what
// it turns them into: ASCII capitals, the Kelvin sign and the dotted
// capital I. translate() maps them the same way whatever the database's
// locale, where lower() might not (Turkish lowers I to ı).
const (
	asciiUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u212a\u0130"
	asciiLower = "abcdefghijklmnopqrstuvwxyzki"
)

// searchPrefilter returns the term a comment's stored document must
// contain (with asciiUpper mapped to asciiLower) for q.Matches to be able to
// match it, and whether to use it. It is used only when that test can never
// rule out a match: for an ASCII term that the document's JSON text writes
// as is (no quote, backslash or control character, which JSON escapes).
// Any other search reads every comment of the status and lets Matches
// decide, as bbolt's searchFilter does for escaped characters.
func searchPrefilter(search string) (string, bool) {
	term := strings.ToLower(search)
	if term == "" {
		return "", false
	}
	for i := 0; i < len(term); i++ {
		if b := term[i]; b >= 0x80 || b < 0x20 || b == '"' || b == '\\' {
			return "", false
		}
	}
	return term, true
}

// Thread implements moderation.CommentStore in one query on the partial
// index comments_thread, reading only the fields readers may see.
func (db *DB) Thread(ctx context.Context, site, post string) ([]*moderation.Comment, error) {
	var all []*moderation.Comment
	b := &pgx.Batch{}
	queueSiteCheck(b, site)
	b.Queue(`SELECT id, COALESCE(parent, ''), status, COALESCE((doc->>'depth')::int, 0), COALESCE(doc->>'author', ''),
			COALESCE(doc->>'website', ''), COALESCE(doc->>'html', ''), COALESCE((doc->>'by_site')::boolean, false), doc->>'created'
		FROM comments WHERE site = $1 AND post = $2 AND status IN ('approved', 'deleted') ORDER BY id`, site, post).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c := &moderation.Comment{Site: site, Post: post}
			var created string
			if err := rows.Scan(&c.ID, &c.Parent, &c.Status, &c.Depth, &c.Author, &c.Website, &c.HTML, &c.BySite, &created); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(`"`+created+`"`), &c.Created); err != nil {
				return fmt.Errorf("comment %s: %w", c.ID, err)
			}
			all = append(all, c)
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapError(err)
	}
	return keepWhole(all), nil
}

// keepWhole returns the approved comments of a thread (in ID order) with
// the tombstones that approved replies hang from, directly or through
// other tombstones; a tombstone with nothing published under it is left
// out.
func keepWhole(all []*moderation.Comment) []*moderation.Comment {
	tombstones := map[string]*moderation.Comment{}
	for _, c := range all {
		if c.Status == moderation.StatusDeleted {
			tombstones[c.ID] = c
		}
	}
	if len(tombstones) == 0 {
		return all
	}
	keep := map[string]bool{}
	for _, c := range all {
		if c.Status != moderation.StatusApproved {
			continue
		}
		for p := c.Parent; p != "" && !keep[p]; {
			t := tombstones[p]
			if t == nil {
				break
			}
			keep[p] = true
			p = t.Parent
		}
	}
	out := all[:0]
	for _, c := range all {
		if c.Status == moderation.StatusApproved || keep[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// The row locks of a comment about to be written. A change takes
// lockChange, which lets replies be added meanwhile (they take a key share
// lock on their parent); a removal takes lockRemove, which waits for them,
// so that it counts every reply before it decides to remove.
const (
	lockChange = "FOR NO KEY UPDATE"
	lockRemove = "FOR UPDATE"
)

// loadForUpdate locks the comments ids of site in ID order (so that
// concurrent writers lock in one order) and returns their documents and
// training records (for decodeComment) by ID; missing ones are absent. The
// site must exist (ErrNotFound).
func loadForUpdate(ctx context.Context, tx pgx.Tx, site string, ids []string, lock string) (map[string][]byte, map[string][]byte, error) {
	docs, trainings := map[string][]byte{}, map[string][]byte{}
	b := &pgx.Batch{}
	queueSiteCheck(b, site)
	b.Queue(`SELECT id, doc, training FROM comments WHERE site = $1 AND id = ANY($2) ORDER BY id `+lock, site, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var doc, training []byte
			if err := rows.Scan(&id, &doc, &training); err != nil {
				return err
			}
			docs[id], trainings[id] = doc, training
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return docs, trainings, nil
}

// UpdateComments implements moderation.CommentStore: one round trip locks
// and loads every comment, one writes every change with its audit entry.
func (db *DB) UpdateComments(ctx context.Context, site string, ids []string, change func(*moderation.Comment) (*moderation.AuditEntry, error)) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		w := newCommentWrites(&pgx.Batch{})
		err := eachComment(ctx, tx, site, ids, lockChange, change, func(old, c *moderation.Comment) (bool, error) {
			return true, w.put(old, c)
		}, w.batch)
		if err != nil {
			return err
		}
		return w.send(ctx, tx)
	})
}

// DeleteComments implements moderation.CommentStore. A comment that
// replies hang from stays as the tombstone change made of it; any other
// row is removed, and no longer holds up its own parent.
func (db *DB) DeleteComments(ctx context.Context, site string, ids []string, change func(*moderation.Comment) (*moderation.AuditEntry, error)) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		w := newCommentWrites(&pgx.Batch{})
		var replies map[string]int
		err := eachComment(ctx, tx, site, ids, lockRemove, change, func(old, c *moderation.Comment) (bool, error) {
			if replies == nil {
				var err error
				if replies, err = countReplies(ctx, tx, site, ids); err != nil {
					return false, err
				}
			}
			if replies[c.ID] > 0 {
				return true, w.put(old, c)
			}
			w.remove(old)
			if old.Parent != "" {
				replies[old.Parent]--
			}
			return false, nil
		}, w.batch)
		if err != nil {
			return err
		}
		return w.send(ctx, tx)
	})
}

// countReplies counts the replies of each of ids, after their rows are
// locked, so that a reply being added is either counted or refused.
func countReplies(ctx context.Context, tx pgx.Tx, site string, ids []string) (map[string]int, error) {
	out := map[string]int{}
	rows, err := tx.Query(ctx, `SELECT parent, count(*) FROM comments WHERE site = $1 AND parent = ANY($2) GROUP BY parent`, site, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var parent string
		var n int
		if err := rows.Scan(&parent, &n); err != nil {
			return nil, err
		}
		out[parent] = n
	}
	return out, rows.Err()
}

// eachComment locks and loads every id, lets change decide, and writes
// what changed with its audit entry queued on b. write reports whether the
// comment is still stored, as c, for an id given twice. Any missing id
// fails the whole transaction.
func eachComment(ctx context.Context, tx pgx.Tx, site string, ids []string, lock string,
	change func(*moderation.Comment) (*moderation.AuditEntry, error), write func(old, c *moderation.Comment) (bool, error), b *pgx.Batch) error {
	docs, trainings, err := loadForUpdate(ctx, tx, site, ids, lock)
	if err != nil {
		return err
	}
	written := map[string]*moderation.Comment{}
	for _, id := range ids {
		old, ok := written[id]
		if !ok {
			doc, found := docs[id]
			if !found {
				return fmt.Errorf("comment %q: %w", id, moderation.ErrNotFound)
			}
			if old, err = decodeComment(doc, trainings[id]); err != nil {
				return err
			}
		}
		if old == nil {
			return fmt.Errorf("comment %q: %w", id, moderation.ErrNotFound)
		}
		c := cloneComment(old)
		entry, err := change(c)
		if err != nil {
			return err
		}
		if entry == nil {
			continue
		}
		kept, err := write(old, c)
		if err != nil {
			return err
		}
		written[id] = nil
		if kept {
			written[id] = c
		}
		entry.Site = site // the entry belongs to the comment's site, whatever the caller said
		if err := queueAudit(b, entry); err != nil {
			return err
		}
	}
	return nil
}

// cloneComment copies c deeply enough for a change to edit the copy: the
// history and the training record are its own.
func cloneComment(c *moderation.Comment) *moderation.Comment {
	x := *c
	x.History = slices.Clone(c.History)
	if c.Trained != nil {
		t := *c.Trained
		t.Features = slices.Clone(c.Trained.Features)
		x.Trained = &t
	}
	return &x
}
