package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Blocklist implements moderation.BlocklistStore: a site that never saved
// one has empty lists, a site that does not exist is ErrNotFound.
func (db *DB) Blocklist(ctx context.Context, site string) (moderation.Blocklist, error) {
	var raw []byte
	err := db.pool.QueryRow(ctx, "SELECT b.doc FROM sites s LEFT JOIN blocklists b ON b.site = s.id WHERE s.id = $1", site).Scan(&raw)
	if err = mapError(err); err != nil {
		return moderation.Blocklist{}, fmt.Errorf("blocklist of site %q: %w", site, err)
	}
	var b moderation.Blocklist
	if raw != nil {
		if err := json.Unmarshal(raw, &b); err != nil {
			return moderation.Blocklist{}, fmt.Errorf("blocklist of site %q: %w", site, err)
		}
	}
	return b, nil
}

// UpdateBlocklist implements moderation.BlocklistStore. The site's row is
// made if missing and locked before change sees it, so two owners editing
// at once (on any instances) both keep their additions. The row made here
// goes away with the rollback when change refuses.
func (db *DB) UpdateBlocklist(ctx context.Context, site string, change func(*moderation.Blocklist) error, entry *moderation.AuditEntry) error {
	empty, err := json.Marshal(moderation.Blocklist{})
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var raw []byte
		// One round trip: a site that does not exist fails the insert
		// (foreign key: ErrNotFound).
		batch := &pgx.Batch{}
		batch.Queue("INSERT INTO blocklists (site, doc) VALUES ($1, $2) ON CONFLICT (site) DO NOTHING", site, empty)
		batch.Queue("SELECT doc FROM blocklists WHERE site = $1 FOR UPDATE", site).QueryRow(func(row pgx.Row) error { return row.Scan(&raw) })
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("blocklist of site %q: %w", site, err)
		}
		var b moderation.Blocklist
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("blocklist of site %q: %w", site, err)
		}
		if err := change(&b); err != nil {
			return err
		}
		doc, err := json.Marshal(&b)
		if err != nil {
			return err
		}
		entry.Site = site
		batch = &pgx.Batch{}
		batch.Queue("UPDATE blocklists SET doc = $2 WHERE site = $1", site, doc)
		if err := queueAudit(batch, entry); err != nil {
			return err
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}
