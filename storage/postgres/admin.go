package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// StatusCounts implements moderation.AdminStore from status_counts, kept
// by a trigger on every status change: counting the rows would read the
// whole site.
func (db *DB) StatusCounts(ctx context.Context, site string) (map[moderation.Status]int, error) {
	out := make(map[moderation.Status]int, len(moderation.Statuses))
	for _, s := range moderation.Statuses {
		out[s] = 0
	}
	b := &pgx.Batch{}
	queueSiteCheck(b, site)
	b.Queue(`SELECT status, sum(n)::bigint FROM status_counts WHERE site = $1 GROUP BY status`, site).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var status string
			var n int
			if err := rows.Scan(&status, &n); err != nil {
				return err
			}
			out[moderation.Status(status)] = n
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// PublishReply implements moderation.AdminStore: the parent is locked and
// loaded, approve decides, and the parent's change, the reply and both
// audit entries go in one batch.
func (db *DB) PublishReply(ctx context.Context, reply *moderation.Comment,
	approve func(parent *moderation.Comment) (*moderation.AuditEntry, error), entry *moderation.AuditEntry) error {
	parentID := reply.Parent
	return db.tx(ctx, func(tx pgx.Tx) error {
		reply.Parent = parentID // approve may re-point the reply; a retry starts over
		docs, trainings, err := loadForUpdate(ctx, tx, reply.Site, []string{parentID}, lockChange)
		if err != nil {
			return err
		}
		doc, ok := docs[parentID]
		if !ok {
			return fmt.Errorf("comment %q: %w", parentID, moderation.ErrNotFound)
		}
		old, err := decodeComment(doc, trainings[parentID])
		if err != nil {
			return err
		}
		parent := cloneComment(old)
		moved, err := approve(parent)
		if err != nil {
			return err
		}
		w := newCommentWrites(&pgx.Batch{})
		if moved != nil {
			moved.Site = reply.Site
			if err := w.put(old, parent); err != nil {
				return err
			}
			if err := queueAudit(w.batch, moved); err != nil {
				return err
			}
		}
		if err := w.put(nil, reply); err != nil {
			return err
		}
		entry.Site = reply.Site
		if err := queueAudit(w.batch, entry); err != nil {
			return err
		}
		return w.send(ctx, tx)
	})
}
