package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Model implements moderation.CommentStore. The model's row and its
// buckets are read in one snapshot. Buckets whose counts fell to zero stay
// as rows of zeros (commentWrites never deletes a row another transaction
// may be adding to) and are not reported.
func (db *DB) Model(ctx context.Context, site string, fn func(hash, ham, spam uint32)) (version, ham, spam int, err error) {
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var v, h, s *int64
		err := tx.QueryRow(ctx, `SELECT m.version, m.ham, m.spam FROM sites LEFT JOIN classifier_models AS m ON m.site = sites.id
			WHERE sites.id = $1`, site).Scan(&v, &h, &s)
		if err != nil {
			return fmt.Errorf("site %q: %w", site, err)
		}
		version, ham, spam = int(deref(v)), int(deref(h)), int(deref(s))
		if fn == nil {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT feature, ham, spam FROM classifier_features
			WHERE site = $1 AND (ham > 0 OR spam > 0) ORDER BY feature`, site)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f, h, s int64
			if err := rows.Scan(&f, &h, &s); err != nil {
				return err
			}
			fn(uint32(f), uint32(h), uint32(s))
		}
		return rows.Err()
	})
	return version, ham, spam, mapError(err)
}

func deref(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// rebuildChunk is how many training records one statement of a rebuild
// writes.
const rebuildChunk = 2000

// RebuildModel implements moderation.CommentStore. It locks the model's
// row first: every write that teaches the model writes that row before its
// buckets (queueModelChanges), so none slips between the rebuild's read of
// the comments and its write of the counts.
func (db *DB) RebuildModel(ctx context.Context, site string, version int, train func(c *moderation.Comment) *moderation.Training) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO classifier_models (site) VALUES ($1)
			ON CONFLICT (site) DO UPDATE SET version = classifier_models.version`, site); err != nil {
			return fmt.Errorf("site %q: %w", site, err)
		}
		var ids, docs []string
		sums := map[uint32]*[2]int64{}
		var classes [2]int64
		rows, err := tx.Query(ctx, `SELECT doc FROM comments WHERE site = $1 ORDER BY id`, site)
		if err != nil {
			return err
		}
		for rows.Next() {
			var doc []byte
			if err := rows.Scan(&doc); err != nil {
				rows.Close()
				return err
			}
			c, err := decodeComment(doc, nil)
			if err != nil {
				rows.Close()
				return err
			}
			t := train(c)
			if t == nil || c.Status == moderation.StatusDeleted {
				continue
			}
			data, err := json.Marshal(t)
			if err != nil {
				rows.Close()
				return err
			}
			ids, docs = append(ids, c.ID), append(docs, string(data))
			cl := 0
			if t.Class == "spam" {
				cl = 1
			}
			classes[cl]++
			for _, h := range t.Features {
				if sums[h] == nil {
					sums[h] = new([2]int64)
				}
				sums[h][cl]++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE comments SET training = NULL WHERE site = $1 AND training IS NOT NULL`, site)
		for start := 0; start < len(ids); start += rebuildChunk {
			end := min(start+rebuildChunk, len(ids))
			b.Queue(`UPDATE comments AS c SET training = d.t FROM unnest($2::text[], $3::jsonb[]) AS d(id, t)
				WHERE c.site = $1 AND c.id = d.id`, site, ids[start:end], docs[start:end])
		}
		b.Queue(`DELETE FROM classifier_features WHERE site = $1`, site)
		features := slices.Sorted(maps.Keys(sums))
		hashes, ham, spam := make([]int64, len(features)), make([]int64, len(features)), make([]int64, len(features))
		for i, h := range features {
			hashes[i], ham[i], spam[i] = int64(h), sums[h][0], sums[h][1]
		}
		b.Queue(`INSERT INTO classifier_features (site, feature, ham, spam)
			SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[])`, site, hashes, ham, spam)
		b.Queue(`UPDATE classifier_models SET version = $2, ham = $3, spam = $4 WHERE site = $1`, site, version, classes[0], classes[1])
		return tx.SendBatch(ctx, b).Close()
	})
}
