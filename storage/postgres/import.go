package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// importLock is the first key of the transaction-level advisory lock that
// imports into one site take (the second is the site's hash): two imports
// of one file take turns, and the second finds the first's comments as
// duplicates instead of failing on the imported table's key.
const importLock int32 = 0x70617269 // "pari"

// ImportComments implements moderation.TransferStore in one transaction
// and three round trips: one reads what the batch's keys and IDs already
// name, one writes every comment through commentWrites (status, thread,
// counts, model and outbox, as a submission makes them) with its key.
func (db *DB) ImportComments(ctx context.Context, site string, items []*moderation.ImportItem) error {
	parents := make([]string, len(items))
	for i, it := range items {
		it.Comment.Site = site
		parents[i] = it.Comment.Parent
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var keys [][]byte
		var ids []string
		for i, it := range items {
			it.Comment.Parent, it.Outcome, it.Refusal = parents[i], moderation.ImportWaiting, nil // a retry starts over
			keys, ids = append(keys, it.Key), append(ids, it.Comment.ID)
			if it.ParentKey != nil {
				keys = append(keys, it.ParentKey)
			}
			if it.Comment.Parent != "" {
				ids = append(ids, it.Comment.Parent)
			}
		}
		imported := map[string]string{}
		stored := map[string]*moderation.Comment{}
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, importLock, site)
		queueSiteCheck(b, site)
		b.Queue(`SELECT key, comment FROM imported WHERE site = $1 AND key = ANY($2)`, site, keys).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var key []byte
				var id string
				if err := rows.Scan(&key, &id); err != nil {
					return err
				}
				imported[string(key)] = id
			}
			return rows.Err()
		})
		// The parents found are locked against removal until the replies are in.
		b.Queue(`SELECT doc FROM comments WHERE site = $1
				AND (id = ANY($2) OR id IN (SELECT comment FROM imported WHERE site = $1 AND key = ANY($3)))
			FOR KEY SHARE`, site, ids, keys).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var doc []byte
				if err := rows.Scan(&doc); err != nil {
					return err
				}
				c, err := decodeComment(doc, nil)
				if err != nil {
					return err
				}
				stored[c.ID] = c
			}
			return rows.Err()
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}

		w := newCommentWrites(&pgx.Batch{})
		var newKeys [][]byte
		var newIDs []string
		for _, it := range items {
			c := it.Comment
			if _, dup := imported[string(it.Key)]; dup || stored[c.ID] != nil {
				it.Outcome = moderation.ImportDuplicate
				continue
			}
			parentID := c.Parent
			if it.ParentKey != nil {
				if parentID = imported[string(it.ParentKey)]; parentID == "" {
					it.Outcome = moderation.ImportOrphan
					continue
				}
			}
			if parentID != "" {
				parent := stored[parentID]
				if parent == nil {
					it.Outcome = moderation.ImportOrphan
					continue
				}
				c.Parent = parentID
				if err := it.Attach(cloneComment(parent)); err != nil {
					it.Outcome, it.Refusal = moderation.ImportRefused, err
					continue
				}
			}
			if err := w.put(nil, c); err != nil {
				return fmt.Errorf("import comment %s: %w", c.ID, err)
			}
			it.Outcome = moderation.ImportCreated
			imported[string(it.Key)] = c.ID
			p := cloneComment(c) // as a later item's parent, as it is stored
			p.Trained = nil
			stored[c.ID] = p
			newKeys, newIDs = append(newKeys, it.Key), append(newIDs, c.ID)
		}
		if len(newKeys) > 0 {
			w.batch.Queue(`INSERT INTO imported (site, key, comment) SELECT $1, * FROM unnest($2::bytea[], $3::text[])`, site, newKeys, newIDs)
		}
		return w.send(ctx, tx)
	})
}
