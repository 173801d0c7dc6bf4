package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// rowQuerier is what appendAudit needs of a transaction: pgx.Tx, a pooled
// connection or the pool itself.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// insertAudit numbers an entry and stores it in one statement: the
// sequence number goes into the document too, as bbolt stores it. An entry
// of a site that does not exist breaks the foreign key: ErrNotFound.
const insertAudit = `
INSERT INTO audit (seq, site, doc)
SELECT n, $1, $2::jsonb || jsonb_build_object('seq', n) FROM nextval('audit_seq_seq') AS n
RETURNING seq`

// appendAudit appends e to the audit log of e.Site ("" for the instance's)
// in q's transaction and sets e.Seq. Sequence numbers grow across every log,
// so that AuditLog pages by them; they are unique, not dense.
func appendAudit(ctx context.Context, q rowQuerier, e *moderation.AuditEntry) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := q.QueryRow(ctx, insertAudit, e.Site, doc).Scan(&e.Seq); err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	return nil
}

// queueAudit is appendAudit as part of a batch: e.Seq is set when the
// batch's results are read.
func queueAudit(b *pgx.Batch, e *moderation.AuditEntry) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b.Queue(insertAudit, e.Site, doc).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&e.Seq); err != nil {
			return fmt.Errorf("audit entry: %w", err)
		}
		return nil
	})
	return nil
}

// AuditLog implements moderation.CommentStore: a site's entries (site ""
// for the instance's) newest first, before sequence number before (0 for
// the newest). ErrNotFound when there is no such site.
func (db *DB) AuditLog(ctx context.Context, site string, limit int, before uint64) ([]moderation.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	if site != "" {
		queueSiteCheck(b, site)
	}
	var out []moderation.AuditEntry
	b.Queue(`SELECT seq, doc FROM audit WHERE site = $1 AND ($2 = 0 OR seq < $2) ORDER BY seq DESC LIMIT $3`,
		site, int64(before), limit).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var seq int64
			var doc []byte
			if err := rows.Scan(&seq, &doc); err != nil {
				return err
			}
			var e moderation.AuditEntry
			if err := json.Unmarshal(doc, &e); err != nil {
				return fmt.Errorf("audit entry %d: %w", seq, err)
			}
			e.Seq = uint64(seq)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// queueSiteCheck makes a batch fail with ErrNotFound when site does not
// exist, for reads that would otherwise answer "nothing" for it.
func queueSiteCheck(b *pgx.Batch, site string) {
	b.Queue(`SELECT true FROM sites WHERE id = $1`, site).QueryRow(func(row pgx.Row) error {
		var ok bool
		if err := row.Scan(&ok); err != nil {
			return fmt.Errorf("site %q: %w", site, err)
		}
		return nil
	})
}
