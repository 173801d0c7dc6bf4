package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// snapshot runs fn in a REPEATABLE READ, read-only transaction: every
// statement in it sees the database as it was at its first, while writers
// carry on (PostgreSQL readers take no locks that writers wait for). Long
// walks (export, dump, backup) read through it and stream their rows.
func (db *DB) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return mapError(pgx.BeginTxFunc(ctx, db.pool, opts, fn))
}

// siteExists returns ErrNotFound for a site that is not stored, as bbolt's
// walks do.
func siteExists(ctx context.Context, tx pgx.Tx, site string) error {
	var one int
	if err := tx.QueryRow(ctx, "SELECT 1 FROM sites WHERE id = $1", site).Scan(&one); err != nil {
		return fmt.Errorf("site %q: %w", site, mapError(err))
	}
	return nil
}

// Export queries: a status and a post filter when given, and a coarse
// filter on the change time (a microsecond early: the document keeps
// nanoseconds, timestamptz does not), which ExportQuery.Matches then
// decides exactly. Comments come in ID order ("C" collation: byte order,
// as IDs sort by time), or by post in the order of each post's first
// selected comment.
const (
	exportWhere = ` FROM comments WHERE site = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR post = $3)
		AND ($4::timestamptz IS NULL OR (doc->>'updated')::timestamptz >= $4::timestamptz - interval '1 microsecond')`
	exportByID   = `SELECT doc` + exportWhere + ` ORDER BY id COLLATE "C"`
	exportByPost = `SELECT doc` + exportWhere + ` ORDER BY min(id COLLATE "C") OVER (PARTITION BY post), id COLLATE "C"`
)

// ExportComments implements moderation.TransferStore: one snapshot, rows
// streamed and decoded one at a time, so memory stays flat; the database
// sorts a grouping by post.
func (db *DB) ExportComments(ctx context.Context, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	query := exportByID
	if q.ByPost {
		query = exportByPost
	}
	return db.exportDocs(ctx, q, query, func(doc []byte) error {
		var c moderation.Comment
		if err := json.Unmarshal(doc, &c); err != nil {
			return err
		}
		if !q.Matches(&c) {
			return nil
		}
		return fn(&c)
	})
}

// ExportJSON implements moderation.TransferStore. JSONB keeps a document's
// meaning but not its bytes (it orders keys its own way), so each comment
// is decoded and encoded again: the JSON is then exactly what bbolt stores
// and an export is byte for byte the same from either backend (the golden
// export files hold it to that).
func (db *DB) ExportJSON(ctx context.Context, q moderation.ExportQuery, fn func(raw []byte) error) error {
	return db.exportDocs(ctx, q, exportByID, func(doc []byte) error {
		var c moderation.Comment
		if err := json.Unmarshal(doc, &c); err != nil {
			return err
		}
		if !q.Matches(&c) {
			return nil
		}
		raw, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		return fn(raw)
	})
}

// exportDocs runs an export query in a snapshot and calls fn with each
// comment's document; fn's error stops the walk and is returned as is.
func (db *DB) exportDocs(ctx context.Context, q moderation.ExportQuery, query string, fn func(doc []byte) error) error {
	var since any
	if !q.Since.IsZero() {
		since = q.Since
	}
	var fnErr error
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := siteExists(ctx, tx, q.Site); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, query, q.Site, string(q.Status), q.Post, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		var doc []byte
		for rows.Next() {
			if err := rows.Scan(&doc); err != nil {
				return err
			}
			if fnErr = fn(doc); fnErr != nil {
				return fnErr
			}
		}
		return rows.Err()
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Backup implements moderation.TransferStore on PostgreSQL: a dump file
// (moderation.DumpWriter) of every record from one snapshot, which
// parley copy --from restores into either backend. Its size is not known
// before the end, so started hears -1, once the snapshot has answered.
// pg_dump is the other way (docs/operations.md).
func (db *DB) Backup(ctx context.Context, w io.Writer, started func(size int64)) (int64, error) {
	var out *moderation.DumpWriter
	err := db.Dump(ctx, func(r *moderation.Record) error {
		if out == nil {
			if started != nil {
				started(-1)
			}
			out = moderation.NewDumpWriter(w)
		}
		return out.Write(r)
	})
	if out == nil && err == nil { // nothing stored at all: still a dump file
		if started != nil {
			started(-1)
		}
		out = moderation.NewDumpWriter(w)
	}
	if out == nil {
		return 0, err
	}
	n, cerr := out.Close()
	if err == nil {
		err = cerr
	}
	return n, err
}
